"""Sub-projects of every kind the lag scan tells apart, for the cluster's workers to scan. Run on the client host
against the cluster's database (``DATABASE_URL``)::

    python -m tests.cluster.scan_data --per-kind 60
"""

import argparse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-kind", type=int, default=60)
    args = parser.parse_args()

    import django

    django.setup()
    from tests.projects.factories import PlanFactory
    from tests.reviews.test_scan import build_programme

    build_programme(per_kind=args.per_kind, plan=PlanFactory(code="scan-cluster"))


if __name__ == "__main__":
    main()
