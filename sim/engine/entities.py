"""The entities of docs/conceptual-model.md §2: children and their cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.engine.rng import ChildStream

if TYPE_CHECKING:
    import simpy

    from sim.engine.caseworkers import Worker

# Case kinds, which give a case its weight in Borås points and its standing hours.
PRELIMINARY = "preliminary_assessment"
INVESTIGATION_NOTIFICATION = "investigation_notification"
INVESTIGATION_APPLICATION = "investigation_application"
INTERVENTION = "intervention"
PLACEMENT = "placement"


class Child:
    """A child known to the department. ``step`` is 0 when on no rung of the ladder."""

    __slots__ = (
        "id",
        "birth_day",
        "need",
        "step",
        "case",
        "need_version",
        "relapse_until_day",
        "returned_home_day",
        "need_draws",
        "_decision_draws",
        "_key",
        "persistent",
        "unsupported",
        "crisis_levels",
    )

    def __init__(self, child_id: int, birth_day: float, need: int, key: int, persistent: bool = False):
        self.id = child_id
        self.need_draws = ChildStream(key, 1)  # when and which way the need changes, acute reports
        self._key = key
        self._decision_draws: ChildStream | None = None
        self.persistent = persistent  # a need that persists for years whatever is done (conceptual model §3.11)
        self.unsupported = False  # moved down, and no full follow-up since: a higher relapse risk
        self.crisis_levels = 0  # the levels of need an acute crisis adds until it passes (conceptual model §3.5)
        self.birth_day = birth_day
        self.need = need
        self.step = 0
        self.case: Case | None = None
        self.need_version = 0
        self.relapse_until_day = -1.0
        self.returned_home_day: float | None = None

    @property
    def decision_draws(self) -> ChildStream:
        """The child's draws for the facts about its family (kinship: whether a placement
        exists, whether it comes forward); made when first asked for (few children need them),
        the same sequence as if made with the child."""
        draws = self._decision_draws
        if draws is None:
            draws = self._decision_draws = ChildStream(self._key, 2)
        return draws


class Case:
    """One open child-welfare case, owned by at most one caseworker at a time."""

    __slots__ = (
        "id",
        "child",
        "source",
        "kind",
        "points",
        "standing_hours",
        "owner",
        "notified_day",
        "urgent",
        "screen_u",
        "process",
        "waiting",
        "acute",
        "in_ladder",
        "step_start_day",
        "last_followup_day",
        "next_due_day",
        "kinship_available",
        "closed",
        "assigned",
        "open_index",
        "notification",
        "spell_entry",
        "spell_replacement",
        "spell_initial",
        "seen_need",
        "accepted_need",
        "over_served_reviews",
        "second",
        "next_political_day",
        "family_request",
    )

    def __init__(self, case_id: int, child: Child, source: str, notified_day: float, urgent: bool, screen_u: float):
        self.id = case_id
        self.child = child
        self.source = source  # "notification" or "application"
        self.kind = ""
        self.points = 0.0
        self.standing_hours = 0.0
        self.owner: Worker | None = None
        self.notified_day = notified_day
        self.urgent = urgent
        self.screen_u = screen_u
        self.process: simpy.Process | None = None
        self.waiting = False  # waiting for the next follow-up (an acute event interrupts)
        self.acute = False
        self.in_ladder = False
        self.step_start_day = 0.0
        self.last_followup_day = 0.0
        self.next_due_day = 0.0
        self.kinship_available: bool | None = None
        self.closed = False
        self.assigned: simpy.Event | None = None
        self.open_index = -1
        self.notification: tuple[int, float] | None = None  # (id, day) of the notification awaiting its outcome
        self.spell_entry = False
        self.spell_replacement = False
        self.spell_initial = False
        self.seen_need = -1  # the need as the caseworker last saw it (-1: not seen yet)
        self.accepted_need = 0  # the need the current step was chosen for (above the step after a planned move)
        self.family_request = False  # the family asks for the child home: a crisis placement whose crisis passed
        self.over_served_reviews = 0  # reviews in a row that found the child over-served
        self.second: Worker | None = None  # the second caseworker of a foster placement's first year
        self.next_political_day = float("inf")  # when the placement's next political review is due
