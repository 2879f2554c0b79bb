"""The warehouse: port, RSL client, simulator, shipping, notices, returns, stock."""
