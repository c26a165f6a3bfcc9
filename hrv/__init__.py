"""Pure HRV domain logic: parsing, features, models, outputs. No Dagster imports here."""
