"""The speed benchmark (issue 13) still runs end to end through the real CLI and its request counts hold.
Nothing is asserted about time: the ratios are printed by `python -m bench --speed`, not judged here."""

from __future__ import annotations

import pytest

from bench import speed

pytestmark = pytest.mark.engine


def test_one_round_of_the_speed_comparison_runs_with_the_minimum_requests():
    result = speed.run(rounds=1, with_refresh=True)  # raises when a request count moved
    assert set(result["ratios"]) == {ours for ours, _ in speed.PAIRS}
    for label, _, _, expected in speed.OPS + speed.REFRESH_OPS:
        timing = result["timings"][label]
        assert len(timing["seconds"]) == 1 and timing["seconds"][0] > 0
        if expected is not None:
            assert timing["requests"] == [expected], label
    reads = result["first_reads"]  # fresh processes read the stacks' resources (a failed read raises)
    assert reads["medians"]["cwroles"]["cpu"] > 0 and reads["medians"]["reference"]["cpu"] > 0
    # The round's `preview --refresh` found nothing changed, so these reads were answered without a model.
    assert reads["imports_ms"]["pydantic"] == 0 and reads["imports_ms"]["httpx"] > 0
