"""Multi-step flows as data: each flow lists its steps as an Enum and the moves between them
as a table of `Move`s. The table is what the code checks (`Flow.check`) and what the diagrams
in docs/ARCHITECTURE.md are drawn from (`Flow.diagram`), so the picture cannot drift from the
code (tests/test_conversations.py compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Move:
    """From one step to another (None: the flow starts or ends), and what makes it happen."""

    source: StrEnum | None
    target: StrEnum | None
    why: str


class StepError(ValueError):
    """A move the flow's table does not have: a bug, not bad input."""


@dataclass(frozen=True)
class Flow:
    name: str
    moves: Sequence[Move]

    @property
    def first(self) -> StrEnum:
        """The step a new flow starts at (the one move from None)."""
        [start] = [move.target for move in self.moves if move.source is None]
        assert start is not None
        return start

    def following(self, step: StrEnum) -> StrEnum | None:
        """The next step of a flow that goes one way from `step` (None: it ends there)."""
        [target] = [move.target for move in self.moves if _same(move.source, step)]
        return target

    def allows(self, source: StrEnum | str | None, target: StrEnum | str | None) -> bool:
        return any(
            _same(move.source, source) and _same(move.target, target) for move in self.moves
        )

    def check(self, source: StrEnum | str | None, target: StrEnum | str | None) -> None:
        if not self.allows(source, target):
            raise StepError(f"{self.name}: no move from {source} to {target}")

    def diagram(self) -> str:
        """A Mermaid state diagram of the table, as shown in docs/ARCHITECTURE.md."""
        lines = ["stateDiagram-v2"]
        steps = {step for move in self.moves for step in (move.source, move.target) if step}
        for step in sorted(steps, key=str):
            if str(step) in _MERMAID_WORDS:
                lines.append(f'    state "{step}" as {_node(step)}')
        for move in self.moves:
            lines.append(f"    {_node(move.source)} --> {_node(move.target)}: {move.why}")
        return "\n".join(lines)


#: Words Mermaid reads as keywords; a step of that name gets another node id.
_MERMAID_WORDS = frozenset({"end", "state", "note", "direction", "class", "classDef"})


def _node(step: StrEnum | None) -> str:
    if step is None:
        return "[*]"
    return f"{step}_step" if str(step) in _MERMAID_WORDS else str(step)


def _same(a: StrEnum | None, b: StrEnum | str | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and str(a) == str(b))
