"""Register the nightly deployment from Python (the same as `synthpipe deploy`).

    PREFECT_API_URL=http://127.0.0.1:4200/api python flows/deployments.py --table claims.parquet

Then run it with a process worker: ``prefect worker start --pool synthpipe``.
"""

from __future__ import annotations

import argparse
import logging

from synthpipe.config import load_config
from synthpipe.orchestration import deploy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default=None, help="input table (default: bundled sample)")
    parser.add_argument("--target", default=None)
    parser.add_argument("--config", default=None, help="run config file")
    parser.add_argument("--name", default="nightly")
    parser.add_argument("--cron", default="0 2 * * *")
    args = parser.parse_args()
    cfg = load_config(args.config, table=args.table, target=args.target)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger(__name__).info(
        "deployment id %s", deploy(cfg, name=args.name, cron=args.cron)
    )


if __name__ == "__main__":
    main()
