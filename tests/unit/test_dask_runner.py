"""The local Dask cluster's shape (no Prefect server needed)."""

from __future__ import annotations

from synthpipe.dask_runner import local_cluster_kwargs


def test_local_cluster_splits_the_cores_between_workers():
    kw = local_cluster_kwargs(2, cores=8)
    assert kw["n_workers"] == 2 and kw["threads_per_worker"] == 1
    assert kw["env"] == {"OMP_NUM_THREADS": "4"}


def test_more_workers_than_cores_still_get_one_thread_each():
    assert local_cluster_kwargs(4, cores=2)["env"]["OMP_NUM_THREADS"] == "1"
    assert local_cluster_kwargs(1, cores=2)["env"]["OMP_NUM_THREADS"] == "2"


def test_local_workers_report_to_the_flows_prefect_api():
    kw = local_cluster_kwargs(2, cores=2, api_url="http://127.0.0.1:4321/api")
    assert kw["env"]["PREFECT_API_URL"] == "http://127.0.0.1:4321/api"
    assert "PREFECT_API_URL" not in local_cluster_kwargs(2, cores=2)["env"]


def test_local_workers_are_quiet_unless_verbose():
    import logging

    assert local_cluster_kwargs(2, cores=2)["silence_logs"] == logging.CRITICAL
    assert local_cluster_kwargs(2, cores=2, quiet=False)["silence_logs"] == logging.WARNING
