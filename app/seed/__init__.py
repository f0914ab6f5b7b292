"""Demo data (`seed-demo`) and bulk benchmark data (`seed --attendees N`)."""

from app.seed.base import AccountNotFound, SeedError, create_account, create_api_key
from app.seed.bulk import seed_bulk
from app.seed.demo import seed_demo

__all__ = [
    "AccountNotFound",
    "SeedError",
    "create_account",
    "create_api_key",
    "seed_bulk",
    "seed_demo",
]
