from hrm_jax.bench import sandbox as bench


def test_startup_rows_measure_both_programs(capsys):
  rows = bench.startup_rows(repeats=2)
  assert [r[0] for r in rows] == ["start-up: /bin/true", "start-up: python -I -c pass"]
  assert all(r[1].endswith(" ms") and r[3].startswith("+") for r in rows)
  assert bench.main(["--repeats", "1"]) == 0
  assert "| start-up: /bin/true |" in capsys.readouterr().out
