"""scale/cluster.py: --dask values, the cluster's life, the tree reduction, and Dask left
unimported (and its absence one clean error line) without --dask."""
import subprocess
import sys

import pytest

from staticvec.errors import BadOptionError, StaticvecError
from staticvec.scale import cluster


@pytest.mark.parametrize("value", ["local:1", "local:16", "tcp://10.0.0.5:8786",
                                   "tls://scheduler.example.org:8786", "scheduler:8786",
                                   "inproc://10.0.0.5/1234/1"])
def test_good_addresses(value):
    cluster.check_address(value)


@pytest.mark.parametrize("value", ["local", "local:0", "local:-1", "local:x", "local:2000",
                                   "localhost", "", "tcp://", "a b:1", "8786"])
def test_bad_addresses_are_refused_naming_the_value(value):
    with pytest.raises(BadOptionError, match=r"--dask must be .*\(got " + value):
        cluster.check_address(value)


def _add(*parts):
    return sum(parts)


def _concat(*parts):
    return [x for p in parts for x in p]


def test_tree_reduce_keeps_the_order(dask_cluster):
    client, _ = dask_cluster
    futures = client.map(lambda i: [i], range(37), pure=False)
    assert client.submit(lambda x: x, 0).result() == 0
    assert cluster.tree_reduce(client, futures, _concat, fan_in=3).result() == list(range(37))
    futures = client.map(lambda i: i, range(10), pure=False)
    assert cluster.tree_reduce(client, futures, _add).result() == 45


def test_a_task_error_reaches_the_client_as_raised(dask_cluster):
    client, _ = dask_cluster

    def fail(i):
        from staticvec.errors import InputError

        raise InputError(f"cannot read shard{i}.txt: no such file")

    futures = client.map(fail, range(3), pure=False)
    with pytest.raises(StaticvecError, match="cannot read shard.\\.txt: no such file"):
        cluster.wait_all(futures)


def test_local_cluster_starts_and_stops():
    pytest.importorskip("distributed")
    with cluster.connect("local:1") as client:
        assert client.submit(sum, [1, 2]).result() == 3
        assert len(client.scheduler_info()["workers"]) == 1
    assert client.status == "closed"


def test_an_unreachable_scheduler_is_one_error():
    pytest.importorskip("distributed")
    cluster.CONNECT_TIMEOUT, saved = "1s", cluster.CONNECT_TIMEOUT
    try:
        with pytest.raises(StaticvecError, match="cannot connect to the Dask scheduler at "
                                                 "tcp://127.0.0.1:9"):
            with cluster.connect("tcp://127.0.0.1:9"):
                pass
    finally:
        cluster.CONNECT_TIMEOUT = saved


def test_without_dask_installed_dask_is_one_error_naming_the_extra():
    code = ("import sys\n"
            "sys.modules['distributed'] = None\nsys.modules['dask'] = None\n"
            "from staticvec.scale import cluster\n"
            "try:\n"
            "    cluster.connect('local:1').__enter__()\n"
            "except Exception as exc:\n"
            "    print(type(exc).__name__, exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == ("StaticvecError --dask needs Dask: install the dask extra "
                                  "(pip install 'staticvec[dask]')")
