"""Application configuration: the validated model and the file loader."""
