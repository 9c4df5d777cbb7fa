"""Mechanisms every domain shares: partitions, partitioned Parquet storage, landing-file reading,
quarantine, materialization metadata and the data-lake resource. Each lives here once."""
