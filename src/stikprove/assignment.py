"""Assigning sampled cases to reviewers: kept as an import path; the code lives in
:mod:`stikprove.store.assignment` (it writes the store's assignments table)."""

from stikprove.store.assignment import (
    REVIEWER_NAME,
    AssignmentResult,
    assign_activated_reserve,
    assign_reviewers,
    check_reviewer_names,
    deal,
)

__all__ = [
    "REVIEWER_NAME",
    "AssignmentResult",
    "assign_activated_reserve",
    "assign_reviewers",
    "check_reviewer_names",
    "deal",
]
