"""Realistic demo data for a small squad (``make demo``; the tests and benchmarks use it too)."""

from hrv.demo.files import write_demo, write_journals, write_sources
from hrv.demo.simulate import SQUAD, AthleteProfile, DemoDay, simulate

__all__ = [
    "SQUAD",
    "AthleteProfile",
    "DemoDay",
    "simulate",
    "write_demo",
    "write_journals",
    "write_sources",
]
