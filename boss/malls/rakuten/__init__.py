"""Rakuten RMS: the client and its order reader, a shop's connection, the import, cancel reflection and the sandbox."""
