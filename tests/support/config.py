"""The app's settings under test, and how to reach a database of the test cluster."""

from __future__ import annotations

from tests.support.pg import Cluster

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "DRAW_SECRET": "test-draw-secret",
    # Cheap hashing keeps the suite fast while still exercising argon2id for real.
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_KIB": 8,
}


def dsn(cluster: Cluster, database: str) -> str:
    return (
        f"host={cluster.socket_dir} port={cluster.port} user=postgres dbname={database}"
    )
