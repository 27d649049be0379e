import pytest

from sdcomp_lite.ranking import RankingError, parse_ranking_reply

IDS = [1, 2, 3]


def test_strict_json():
    parsed = parse_ranking_reply('{"ranking": [{"id": 2, "score": 0.9, "reason": "the subject"}, '
                                 '{"id": 3, "score": 0.5, "reason": "context"}, {"id": 1, "score": 0.1, "reason": "x"}]}', IDS)
    assert parsed.order == (2, 3, 1)
    assert parsed.scores == {2: 0.9, 3: 0.5, 1: 0.1}
    assert parsed.reasons[2] == "the subject" and parsed.repairs == ()


def test_fenced_json_with_prose_around_it():
    reply = 'Sure! Here is my ranking:\n```json\n{"ranking": [{"id": 3}, {"id": 1}, {"id": 2}]}\n```\nHope it helps.'
    parsed = parse_ranking_reply(reply, IDS)
    assert parsed.order == (3, 1, 2)
    assert parsed.scores[3] > parsed.scores[1] > parsed.scores[2]


def test_bare_list_and_string_ids():
    assert parse_ranking_reply('[3, "#1", "[2]"]', IDS).order == (3, 1, 2)


def test_missing_ids_are_appended_in_fallback_order():
    parsed = parse_ranking_reply('{"ranking": [{"id": 2, "score": 0.8}]}', IDS, fallback_order=[3, 1, 2])
    assert parsed.order == (2, 3, 1)
    assert any("appended unranked ids [3, 1]" in r for r in parsed.repairs)


def test_duplicates_and_out_of_range_ids_are_dropped_and_reported():
    parsed = parse_ranking_reply('{"ranking": [{"id": 1}, {"id": 1}, {"id": 99}, {"id": "cat"}, {"id": 2}]}', IDS)
    assert parsed.order == (1, 2, 3)
    assert "dropped repeated id 1" in parsed.repairs
    assert "dropped unknown id 99" in parsed.repairs
    assert "dropped unknown id 'cat'" in parsed.repairs


def test_scores_that_contradict_the_order_are_replaced():
    parsed = parse_ranking_reply('{"ranking": [{"id": 1, "score": 0.2}, {"id": 2, "score": 0.9}, {"id": 3, "score": 5}]}', IDS)
    assert parsed.order == (1, 2, 3)
    assert parsed.scores[1] > parsed.scores[2] > parsed.scores[3]
    assert any("scores" in r for r in parsed.repairs)


@pytest.mark.parametrize("reply", ["", "I cannot rank these objects.", '{"ranking": [{"id": 42}]}', "[true, false]", "{}"])
def test_nothing_usable_raises_a_clear_error(reply):
    with pytest.raises(RankingError):
        parse_ranking_reply(reply, IDS)
