# ruff: noqa: E501  (data: one message per line, however long the message)
r"""What the demo people say, and when.

Each chat is a script of lines `speaker: text`, under day markers `[-3]` (days before the
anchor day). A line may start with a clock time `09:12` (a new conversation starts then)
or a pause `+40m` / `+2h` / `+90s`; other lines follow the one before after a moment
that grows with the length of the text (see seed_timeline.py). `\n` in a text is a line
break. Clock times are UTC; the last day ends at ANCHOR_CLOCK, on the latest day on
which that is not after the seed's anchor (seed_timeline.script_end).
"""

ANCHOR_CLOCK = "18:30"

TEAM = r"""
[-4]
09:02 alice: Welcome to the Team chat, everyone 👋 From today we use this instead of the old mailing list.
carol: Hi all!
dave: Hello! Finally, a chat with read receipts
bob: Hey 😊
alice: Ground rules, short version:\n1. Decisions go into the wiki, not only here\n2. Mute the group when you need focus, nobody minds\n3. Pizza emoji counts as a vote
bob: Is there a long version?
alice: There will be, once someone breaks the short one
+25m dave: Who has the staging password? The one in the vault seems to be expired
carol: Rotated yesterday, I'll send it to you directly
dave: Thanks
11:40 bob: Latency is up a bit since this morning
alice: Which endpoint?
bob: History paging, with large offsets
carol: Keyset paging should fix that. before_seq instead of offset
bob: Switching the client over now
+1h bob: Deployed to staging: p99 went from 480 ms to 35 ms 🚀
alice: Nice work
dave: That graph is beautiful, can I put it on the wall?
15:10 carol: Release checklist for Friday is in the wiki: https://example.com/wiki/release-checklist
alice: Thanks Carol. Anything blocking?
carol: Just the changelog
dave: I can write it
carol: You're a star ⭐
17:45 bob: Heading out. Tomorrow I'm in a bit later, dentist at 9
alice: Good luck!

[-3]
09:15 alice: Good morning! Standup in 5 minutes
bob: Joining
carol: Running two minutes late, start without me
dave: Here
+20m alice: Summary for those who missed it: Bob finishes the paging work, Carol tests the read receipts in groups, Dave looks at the Redis memory alarm, I'm in planning meetings most of the day and slow to answer.
10:32 dave: Heads up: the staging database restarts at 3pm for the minor version upgrade
bob: How long will it be down?
dave: About ten minutes if all goes well
bob: OK, I'll pause the load test
12:05 carol: Lunch? The Thai place has a new menu
dave: In!
bob: Give me ten minutes
alice: Go ahead, I'm stuck in a meeting
+3h dave: Staging is back, PostgreSQL 17.2 now. Let me know if anything looks odd
carol: Login works, messages work, history works ✅
16:20 bob: Who broke the login page? 😬
alice: Not me!
carol: Looking...
carol: A CSS change in the form, fixed on main
bob: Confirmed, works again
dave: For the record: it wasn't me either, but I'll gladly take the blame for the next one
17:58 carol: Found something in the read receipts: when someone leaves the group, messages that only they hadn't read stay at one tick. Is that expected?
alice: No, leaving should complete them. Can you file it?
carol: Filed, with steps to reproduce

[-2]
08:47 dave: Redis memory alarm from last night: it was the presence keys of a load test that never finished. Cleaned up, and I added an expiry so it can't happen again.
alice: Thanks Dave 🙏
09:30 alice: Reminder: retro tomorrow at 11
dave: Should we bring topics?
alice: Yes, add them to the board: https://example.com/boards/retro
carol: Added two
bob: Added one, and voted on Carol's
11:14 bob: Quick poll: tabs or spaces in the new config files?
carol: Whatever the formatter does
dave: Spaces. Four.
alice: Let's not 😄
13:05 carol: Anyone up for a quick review? It's the rate limiter change
dave: Send it over
carol: https://example.com/review/1342
+35m dave: Done, one small comment about the error message wording
carol: Good catch, fixed
15:48 bob: I'm writing down how a reconnect catches up on missed messages, for the new client team. Short version: the client remembers the last seq it has for each chat and asks for everything after it; the server answers in pages of up to a hundred, in order, and the client keeps asking until a page comes back short. Messages that arrive live in the meantime are merged by seq, so nothing shows twice and nothing is skipped. Does that match what you all expect?
alice: Yes, that's exactly it
carol: Maybe add what happens to messages you sent while offline?
bob: Good point: they stay in the outbox and go out again with the same client id, so the server stores each one once
dave: Put that in bold, people always ask
17:30 carol: Pizza on Friday to celebrate the release?
bob: Yes!
dave: Count me in
alice: Absolutely 🍕

[-1]
09:05 dave: New designs for the chat list are up for review
alice: Love the unread badges
bob: Can we keep the timestamps on the right?
dave: Sure, I'll change that
carol: Looks great overall
11:00 alice: Retro notes are in the wiki. Top three:\n- fewer meetings on Wednesdays\n- a shared calendar for on-call\n- more tests that use a real browser
bob: +1 on the browser tests, they caught two bugs this week
carol: I'll set up the on-call calendar
14:22 bob: Is anyone else getting a 502 from the docs site?
dave: Yes, the certificate expired an hour ago. Renewing it now
+12m dave: Fixed. I also added it to the monitoring so we hear about it a week before next time
alice: 👍
16:40 carol: Release candidate is tagged. Testing the upgrade path from the last version now
alice: Ping me if you need a second pair of eyes
+50m carol: Upgrade path works, including the migration on a copy of the big demo database. Took 14 seconds.
bob: Only 14? I expected minutes
carol: The new index helps a lot

[0]
08:55 alice: Release day 🎉 Plan: Carol ships at 11, Dave watches the dashboards, Bob and I answer questions in the support channel.
dave: Dashboards are up on the big screen
11:02 carol: Shipped ✅
bob: Error rate looks normal
dave: CPU at 30%, memory flat, no alarms
alice: Great job, team. Thank you all!
13:30 bob: First feedback from a customer: "finally, the unread counter is right". I'll take it
carol: Framing that one
+2h dave: Pizza ordered for 6, two of them vegetarian
carol: Is the one with the pineapple on the list?
dave: It is, for science
+40m bob: Anyone seen my charger? Black, with a sticker of a cat
carol: Meeting room 2, on the window sill
bob: Thank you!
dave: Pizza's here, come to the kitchen 🍕
carol: Save me a vegetarian slice, I'm two minutes away
"""

ALICE_BOB = r"""
[-4]
10:05 alice: Could you take a look at my pull request when you have a minute?
bob: On it
+18m bob: Left a few comments, mostly naming
alice: Thanks! Fixed them
bob: Approved 👍
12:40 bob: Lunch today?
alice: Sure, 12:45 downstairs?
bob: Perfect
19:10 alice: Did you get home alright? The trains were a mess
bob: Took forever, but yes. Read half a book on the way
alice: Which one?
bob: The one about the history of the telephone network you recommended. The part where the operators knew everyone's secrets is wild.

[-3]
08:30 bob: Running late, the dentist is slower than expected
alice: No worries, standup is at 9:15 anyway
11:50 alice: Can you explain why the history endpoint uses the seq and not the timestamp? Someone asked me and I gave a rather vague answer.
bob: Two reasons. The seq has no ties (two messages can share a millisecond, they can't share a seq), and it has no gaps, so a client can tell that it has missed something just by looking at the numbers.
alice: That's a great answer, mind if I steal it?
bob: Please do
15:35 bob: Are you coming to the meetup on Thursday?
alice: Probably, who's talking?
bob: Someone from the database team, about replication
alice: Then definitely
bob: I'll save you a seat

[-2]
09:10 alice: Coffee?
bob: Two minutes
alice: ☕
14:15 bob: The build is red again
alice: Flaky test or real?
bob: Real, someone renamed a column
alice: I'll revert it
bob: You're a hero
+30m alice: Reverted, and I wrote to the author. It was a migration that was edited after it had already been merged.
bob: Ah, the classic
20:45 bob: Random question: do you still have that recipe for the lentil soup?
alice: Yes! 200 g red lentils, one onion, two carrots, a can of tomatoes, a spoon of cumin, a litre of stock. 25 minutes. Lemon juice at the end, that's the secret.
bob: Making it tomorrow

[-1]
10:20 bob: Quick question: where do the migration files live?
alice: migrations/versions, one file per change
bob: Got it, thanks
alice: And never edit one that's already merged 😉
bob: Lesson learned yesterday, by someone else
16:05 alice: Any plans for the weekend?
bob: Hiking if the weather holds
bob: You?
alice: Finally fixing my bike
bob: Good luck with that, I remember last time
alice: The chain is new, so this time it's only the brakes. How hard can it be?
bob: Famous last words

[0]
09:40 alice: Did the deploy go out?
bob: Yes, about ten minutes ago
alice: Thanks, I'll keep an eye on the graphs until lunch
15:20 bob: The soup was excellent, by the way
+2h bob: Also: the weather looks good for Saturday, want to join the hike? It's about 14 km, with a lake halfway where we stop for lunch.
bob: We're leaving at 8 from the station
"""

CAROL_DAVE = r"""
[-3]
10:05 carol: Here's the staging password, it's valid until the end of the month: ask me again after that, the vault gets the new one on the first
dave: Got it, thanks. Deleting this message from my memory now
14:30 dave: Do you have a minute to look at the alert thresholds with me?
carol: After 4?
dave: Works

[-2]
10:50 carol: How was the concert yesterday?
dave: Loud and great. The support band was better than the main act, to be honest
carol: That happens more often than the main acts would like
dave: Ha, true
16:10 dave: I'm writing the on-call handbook. Should it cover what to do when the database is full, or is that too rare?
carol: It happened twice last year, so yes. Start with how to find the biggest tables
dave: Good idea

[-1]
09:25 carol: The on-call calendar is ready: https://example.org/calendar/on-call
dave: I'm on the first week, of course
carol: Someone has to be 😇
13:45 carol: Can I borrow your monitor adapter until Monday?
dave: It's in the second drawer, help yourself
carol: Found it, thanks

[0]
12:10 carol: Are you going to the pizza thing tonight?
dave: Yes, from around 6
dave: And no rush with the adapter, I have a spare one at home. Keep it as long as you need it, really.
"""

ALICE_DAVE = r"""
[-2]
11:30 dave: The new chat list designs: do you prefer the round avatars or the square ones?
alice: Round, definitely
dave: That's three votes for round, then

[-1]
17:20 alice: Thanks for renewing the certificate so fast today
dave: It was a two-minute job once I found where the old one lived
alice: Could you write down where that is, for whoever comes next?
dave: Will do, tomorrow morning

[0]
10:15 dave: Written down, it's in the on-call handbook under "Certificates"
dave: Also added a calendar reminder for the next renewal
alice: Perfect, thank you. I owe you a coffee
+5h alice: Round avatars are in the build now, by the way. Looks great
"""
