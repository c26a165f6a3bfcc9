"""What wakes the graph up (the inbox and source sensors arrive in later issues)."""

import dagster as dg

defs = dg.Definitions()
