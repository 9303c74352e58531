"""Where files live: the raw store of DWD bytes (``raw``) and the staged hourly Parquet partitions (``staged``)."""
