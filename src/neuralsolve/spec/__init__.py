"""Problem files: TOML -> Problem."""
