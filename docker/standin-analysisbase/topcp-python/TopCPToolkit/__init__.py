"""STAND-IN TopCPToolkit python package for the stand-in image (invented blocks; not TopCP)."""
