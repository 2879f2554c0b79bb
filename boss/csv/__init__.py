"""CSV files: reading them as Excel writes them (reading, values, order_rows), pure; the jobs use them."""
