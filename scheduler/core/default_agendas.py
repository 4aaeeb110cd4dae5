"""Default agenda templates, used when a program defines none. Written from what mentors and
mentees say helps (the mentoring articles the product grew from): agree goals first, prepare in advance, review progress,
close the loop with feedback."""

DEFAULT_AGENDAS: tuple[tuple[str, str], ...] = (
    ("Getting started",
     "1. Introductions: roles, backgrounds, what each of you hopes for.\n"
     "2. Agree how you will work: cadence, how to reach each other, confidentiality.\n"
     "3. Draft two or three specific goals for the program.\n"
     "4. Mentee: note one thing to try before next time."),
    ("Goals and progress",
     "1. Mentee: share progress since last time (prepared in advance).\n"
     "2. Review one goal: what worked, what got in the way.\n"
     "3. Mentor: one piece of experience or a resource that fits.\n"
     "4. Agree the next small step."),
    ("Deep dive",
     "1. Mentee brings one current challenge or question.\n"
     "2. Talk it through; mentor asks before advising.\n"
     "3. Capture what you will each do before the next session."),
    ("Look back and forward",
     "1. Revisit the goals you set: what has changed?\n"
     "2. Feedback both ways: what is working in these sessions, what to change.\n"
     "3. Set or adjust goals for the next stretch."),
)
