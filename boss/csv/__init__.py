"""CSV: readers, writers and their jobs (csv.md)."""
