"""The coach's side: athletes.yaml, athlete flags, the squad board."""
