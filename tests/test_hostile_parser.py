"""Issue 11, finding 7: the LMM reply parser on hostile text. Whatever a model writes, the parser
returns a ranking of known ids or raises RankingError, in linear time."""

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdcomp_lite.ranking import RankingError, parse_ranking_reply
from sdcomp_lite.ranking.parsing import MAX_ID, MAX_REPLY_CHARS

IDS = [7, 8, 9]
FENCE = "`" * 3


def _parse_or_error(reply, ids=IDS):
    """The parse, or None for RankingError; timed: every reply here must parse well within a second."""
    start = time.perf_counter()
    try:
        parsed = parse_ranking_reply(reply, ids)
    except RankingError as error:
        assert "\n" not in str(error).split(" it starts: ")[0]
        parsed = None
    assert time.perf_counter() - start < 2.0
    if parsed is not None:
        assert sorted(parsed.order) == sorted(ids)
        assert all(0.0 <= s <= 1.0 for s in parsed.scores.values())
        assert [parsed.scores[i] for i in parsed.order] == sorted(parsed.scores.values(), reverse=True)
    return parsed


@pytest.mark.parametrize("reply", [
    "[" * 100_000,  # RecursionError before
    "[" + "7" * 4300 + "]", "[" + "9" * 5000 + "]",  # ValueError (int digit limit) before
    "[" + "1" * 400 + "]", '[{"id": 1' + "0" * 400 + "}]", "[1e400]", "[NaN, Infinity]",  # OverflowError before
    FENCE + "json\n" + "\n" * 100_000,  # an unclosed fence: over 60 s before
    FENCE * 30_000, "{" * 70_000 + "}" * 70_000, '"' + " " * 60_000 + 'x"', "[" * 900 + "]" * 900,
    "[true, null, {}, [], -1, 4294967296]",
])
def test_hostile_replies_fail_cleanly_and_fast(reply):
    assert _parse_or_error(reply) is None


def test_nesting_too_deep_for_json_falls_back_to_the_innermost_list():
    parsed = _parse_or_error('{"ranking": ' * 2000 + "[9]" + "}" * 2000)
    assert parsed.order == (9, 7, 8)


def test_the_documented_one_entry_list_is_accepted():
    parsed = parse_ranking_reply('[{"id": 7, "score": 0.9}]', [7])
    assert parsed.order == (7,) and parsed.scores == {7: 0.9} and parsed.repairs == ()
    assert parse_ranking_reply('Here: [{"id": 8, "score": 0.9}] done', IDS).order == (8, 7, 9)
    assert parse_ranking_reply('{"id": 9}', IDS).order == (9, 7, 8)


def test_ids_are_bounded_whole_numbers_never_truncated():
    parsed = parse_ranking_reply("[1.5, 8.0, 9.9, 7]", IDS)
    assert parsed.order == (8, 7, 9)
    assert "dropped id 1.5: not a whole number" in parsed.repairs
    assert "dropped id 9.9: not a whole number" in parsed.repairs
    big = parse_ranking_reply(f'[{MAX_ID + 1}, "{MAX_ID + 7}", 7, "1{"0" * 400}"]', IDS)
    assert big.order == (7, 8, 9) and len([r for r in big.repairs if r.startswith("dropped unknown id")]) == 3
    assert parse_ranking_reply(f"[{MAX_ID}, 7]", [MAX_ID, 7]).order == (MAX_ID, 7)
    huge = parse_ranking_reply("[7, " + "1" * 4000 + "]", IDS)
    assert any("an integer of about" in r and len(r) < 80 for r in huge.repairs)


def test_huge_scores_are_clipped_not_overflowed():
    parsed = parse_ranking_reply('[{"id": 7, "score": ' + "9" * 500 + '}, {"id": 8, "score": -' + "9" * 500 + "}]", [7, 8])
    assert parsed.scores == {7: 1.0, 8: 0.0}


def test_a_reply_over_the_cap_is_cut_with_a_note():
    reply = '{"ranking": [9, 8, 7]}' + " " * (MAX_REPLY_CHARS + 10) + "ignored"
    parsed = parse_ranking_reply(reply, IDS)
    assert parsed.order == (9, 8, 7)
    assert any(f"first {MAX_REPLY_CHARS} characters" in r for r in parsed.repairs)
    with pytest.raises(RankingError, match="no JSON"):  # the JSON lies beyond the cap
        parse_ranking_reply(" " * MAX_REPLY_CHARS + "[7, 8, 9]", IDS)


def test_an_unclosed_fence_still_yields_its_json():
    assert parse_ranking_reply(FENCE + "json\n[9, 7, 8]\n", IDS).order == (9, 7, 8)
    assert parse_ranking_reply(f"a {FENCE}prose{FENCE} b {FENCE}json [8]{FENCE}", IDS).order == (8, 7, 9)


def test_a_reply_that_is_not_text_is_a_ranking_error():
    with pytest.raises(RankingError, match="must be text"):
        parse_ranking_reply(None, IDS)  # type: ignore[arg-type]


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from([7, 8, 9, "7", "#8", "[9]", 1.5, 2**32, -1]),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["id", "object_id", "score", "reason", "ranking", "order", "x"]), inner, max_size=4),
    max_leaves=20,
)


@FAST
@given(st.text(max_size=400))
def test_arbitrary_text_gives_a_ranking_or_a_ranking_error(reply):
    _parse_or_error(reply)


@FAST
@given(json_values, st.text(max_size=20), st.text(max_size=20), st.sampled_from(["", FENCE, FENCE + "json\n"]))
def test_arbitrary_json_with_prose_and_fences_gives_a_ranking_or_a_ranking_error(value, before, after, fence):
    _parse_or_error(before + fence + json.dumps(value) + fence + after)


@FAST
@given(st.text(alphabet="[]{}\",:`0123456789.-e \n#id", max_size=300))
def test_json_like_noise_gives_a_ranking_or_a_ranking_error(reply):
    _parse_or_error(reply)


@FAST
@given(st.permutations(IDS), st.lists(st.floats(0, 1), min_size=3, max_size=3), st.booleans(), st.booleans(),
       st.sampled_from(["{}", "prose {} prose", FENCE + "json\n{}\n" + FENCE, "Sure!\n" + FENCE + "\n{}"]))
def test_valid_replies_round_trip(order, scores, wrapped, string_ids, frame):
    scores = sorted(scores, reverse=True)
    entries = [{"id": str(i) if string_ids else i, "score": s, "reason": f"r{i}"} for i, s in zip(order, scores)]
    reply = frame.replace("{}", json.dumps({"ranking": entries} if wrapped else entries))
    parsed = parse_ranking_reply(reply, IDS)
    assert parsed.order == tuple(order)
    assert parsed.scores == dict(zip(order, scores))
    assert parsed.reasons == {i: f"r{i}" for i in order}
    assert parsed.repairs == ()
