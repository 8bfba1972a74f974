"""Fixtures shared by the gateway tests (defined in gw_support.py, next to the helpers they
use): a conftest makes them visible to every test module without importing them there."""

from gw_support import backends, gateway

__all__ = ["backends", "gateway"]
