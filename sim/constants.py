"""Constants every layer shares; this module imports nothing."""

from __future__ import annotations

DAYS_PER_YEAR = 365.25
"""The model's year, in days (the clock runs in days)."""

CONFIDENCE = 0.95
"""The confidence level of every interval the project reports."""

STEP_NAMES: tuple[str, ...] = ("early_support", "home_support", "kinship", "foster", "institution")
"""The five rungs of the intervention ladder, lowest first (docs/conceptual-model.md §3.4)."""

PLACEMENT_STEPS: tuple[int, ...] = (3, 4, 5)
"""Steps that are placements outside the home; steps 1 and 2 are in-home interventions."""

AGED_OUT = "aged_out"
"""Why a case, and a spell, ended when the child turned 18 (the edge of the model, §3.9)."""

TASK_KINDS: tuple[str, ...] = (
    "preliminary_assessment",
    "handover",
    "investigation",
    "followup",
    "acute_review",
    "step_down_plan",
    "placement",
    "network_search",
    "political_review",
    "second_caseworker",
    "renotification",
    "other",
)
"""What a task is for: caseworker hours are reported by these kinds (and standing hours)."""
