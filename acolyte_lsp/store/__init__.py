"""Everything that talks to Weaviate; the only package that imports `weaviate`."""
