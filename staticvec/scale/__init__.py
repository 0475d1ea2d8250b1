"""Scale-out: many files or URLs -> Dask tasks running text's counters and encoders -> merged
counts, sharded encodings -> training on one machine.

A layer above ``text/`` (whose counters and encoders the tasks run) and below ``train/``
(which trains from a shard set); Dask is imported only inside the functions that need it,
so nothing here imports it unless ``--dask`` is given.

    inputs.py    paths, globs and fsspec URLs -> sources -> shards (byte ranges at line
                 starts; a compressed file is one shard); reading one shard on a worker
    cluster.py   --dask ADDRESS -> a distributed.Client (local:N: a LocalCluster of N
                 processes), closed at the end; tree_reduce, wait_all
    counting.py  vocab --dask, phrases --dask: per-shard C counts as compact tables,
                 merged by tree reduction, pruned per task and per merge
    encoding.py  --dask --encoded-dir: shards of ids and sentence ends written by the
                 workers, a manifest last; --encoded: a shard set joined once into one
                 cached corpus and trained from
"""
