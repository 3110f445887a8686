"""test_error_throttle.py - bad commands slow a client down ([limits]
soft_error_limit, as Postfix's smtpd_soft_error_limit and smtpd_error_sleep_time):
up to the soft limit replies come at once, past it each next command is taken after
a pause that grows (1 s, 2 s, at most 3 s), and at 20 errors the session ends with
421. Other sessions are served meanwhile.
"""
import time

from smtpraw import Raw


def test_pauses_after_the_soft_limit(make_instance):
    inst = make_instance({("limits", "soft_error_limit"): "3"})
    with Raw(inst.ports["smtp"]) as c:
        times = []
        for _ in range(5):
            t0 = time.monotonic()
            r = c.cmd("NONSENSE")
            times.append(time.monotonic() - t0)
            assert r.code == 500, r
        # Errors 1-3 come at once; the 4th is read after 1 s, the 5th after 2 s.
        assert max(times[:4]) < 0.9, times
        assert times[4] >= 0.9, times
        # Meanwhile another client is served at once.
        with Raw(inst.ports["smtp"]) as other:
            t0 = time.monotonic()
            assert other.cmd("EHLO other.example").code == 250
            assert time.monotonic() - t0 < 0.9


def test_off_and_hard_limit(make_instance):
    inst = make_instance({("limits", "soft_error_limit"): "0"})
    with Raw(inst.ports["smtp"]) as c:
        t0 = time.monotonic()
        for i in range(20):
            assert c.cmd("NONSENSE").code == 500
        # The 20th refusal is followed by the last word.
        r = c.reply()
        assert r.code == 421 and "too many errors" in r.text, r
        assert time.monotonic() - t0 < 5
