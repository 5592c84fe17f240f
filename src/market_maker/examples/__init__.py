"""Configuration files shipped with the package (the defaults of the quick start)."""
