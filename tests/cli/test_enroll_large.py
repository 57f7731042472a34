"""`phoneverify enroll` into a users file larger than the old 4 MiB limit
(a login streams the file without a limit, so enroll must not be the
part that refuses a big site's file)."""


def test_enroll_into_a_200k_line_users_file(world):
    lines = ["u%06d:+861380%07d" % (i, i) for i in range(200000)]
    world.write_users(lines)
    size = world.users_path.stat().st_size
    assert size > 4 * 1024 * 1024
    r = world.cli("enroll", "erin", "+86 13600136000", "Erin G", timeout=60)
    assert r.returncode == 0, r
    text = world.users_path.read_text()
    assert text.endswith("erin:+8613600136000:Erin G\n")
    assert text.count("\n") == 200001
