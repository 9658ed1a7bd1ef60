"""Reading, validating and writing study files and pipeline tables."""
