"""What is said, to whom, when (alert sensors arrive in later issues)."""

import dagster as dg

defs = dg.Definitions()
