"""The warehouse: shipping requests, notices, returns and stock (warehouse.md)."""
