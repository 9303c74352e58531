"""Everything that knows the DWD CDC file format: the product registry, file names, parsers, the HTTP client."""
