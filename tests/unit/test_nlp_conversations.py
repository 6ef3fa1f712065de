"""Scripted multi-turn conversations with the NLPAgent on the shipped default model.

Each conversation lists its turns as ``message | expected topic | expected actions``
(E: escalate to a human, V: require verification). Every turn is also checked for reply
properties: no placeholder or template left in it, never the previous reply again, and no
preamble repeated from the previous reply.
"""

from __future__ import annotations

import pytest

from agentgpt import NLPAgent
from agentgpt.agents.context import Context, Exchange
from agentgpt.agents.response import Action, Response
from agentgpt.nlu.topics import OTHER, TOPIC_NAMES

SCRIPT = """
## card arrival then thanks
hi there | Conversation |
my new card still hasn't come in the post | Card issues |
thanks, bye | Conversation |
## stolen card
my credit card got stolen on Thursday | Fraud alerts | E
thank you | Conversation |
## mortgage
I call about my mortgages | Loan inquiries |
can I overpay my mortgage without a fee? | Loan inquiries |
## grateful closing
how do I activate my card | Card issues |
im very grateful | Conversation |
ok this call is over | Conversation |
## transfer full flow
I want to send money to my brother | Transfers | V
200 pounds | Transfers | V
to DE89 3704 0044 0532 0130 00 | Transfers | V
yes, send it now | Conversation |
## transfer cancelled
make a bank transfer please | Transfers | V
50 euros to GB82 WEST 1234 5698 7654 32 | Transfers | V
no, don't send it | Conversation |
## transfer with question in between
I'd like to transfer money to my landlord | Transfers | V
what's my balance? | Balance & statements |
800 euros | Transfers | V
## weather declined
what's the weather tomorrow | Out of scope |
ok, how do I check my balance then | Balance & statements |
## recipe declined
give me a good pasta recipe | Out of scope |
sorry, I meant to ask about my overdraft | Overdrafts |
## flight declined
book me a flight to Rome | Out of scope |
can I use my card abroad? | Card issues |
## lost phone
I lost my phone with the banking app on it | Password & access | E
## forgotten password
I forgot my password | Password & access |
still can't log in | Password & access |
## pin forgotten
I can't remember my PIN | Password & access |
## pin blocked
my pin is blocked, how do I unblock it | Password & access |
## change pin
how can I change my PIN number | Password & access |
## compromised card
I think someone copied my card details | Fraud alerts | E
## unrecognised payment
there's a payment on my card I didn't make | Fraud alerts | E
## freeze account
please block my account right away | Fraud alerts | E
## card not working
my card is broken, the chip doesn't work | Card issues |
## card swallowed
the ATM swallowed my card | Card issues |
## contactless
contactless isn't working on my card | Card issues |
## virtual card
how do I get a virtual card | Card issues |
## card expiring
my card expires next month, will you send a new one? | Card issues |
## declined payment
why was my card payment declined | Card payments |
## pending payment
a card payment has been pending for days | Card payments |
## fee charged on payment
why was I charged a fee for a card payment | Card payments |
## transfer not received
my friend hasn't received the money I sent | Transfers | V
## cancel transfer
can I cancel a transfer I just made | Transfers | V
## top up
how do I top up my account with a card | Top-ups |
## top up failed
my top up failed | Top-ups |
## atm wrong cash
the cash machine gave me less money than I asked for | Cash & ATM |
## atm fee
why was I charged for taking out cash | Cash & ATM |
## exchange rate
what exchange rate do you use for dollars | Exchange & fees |
## fees abroad
will I pay fees if I use my card in Japan | Exchange & fees |
## refund
I want a refund for something I bought | Refunds & disputes |
## charged twice
I've been charged twice for the same thing | Refunds & disputes |
## complaint
I want to make a formal complaint about your service | Complaints |
## identity
why do you need to verify my identity | Identity verification |
## identity failed
I can't get the identity check to work | Identity verification |
## address change
I moved house, please update my address | Account | V
## close account
I want to close my account | Account | V
## open account
how do I open a current account | Account |
## routing number
where do I find my bank's sort code and routing number | Account |
## balance
how much money is in my account | Balance & statements |
## statement
can you send me a statement for last month | Balance & statements |
## transactions
show me what I spent last week | Balance & statements |
## loan
I'd like to borrow 10,000 for a car | Loan inquiries |
## credit score
how can I improve my credit score | Loan inquiries |
## savings
I want to open a savings account | Savings & interest |
## interest
what interest rate do I get on my savings | Savings & interest |
## overdraft
can I get an overdraft | Overdrafts |
## overdraft fee
why did you charge me an overdraft fee | Overdrafts |
## direct debit
cancel my direct debit to the gym | Direct debits & bills |
## standing order
set up a standing order for my rent | Direct debits & bills |
## bill
I need to pay my electricity bill | Direct debits & bills |
## cheque book
I need a new cheque book | Cheques |
## cheque deposit
how do I pay in a cheque | Cheques |
## credit limit
can you raise my credit card limit | Credit cards |
## rewards
how many reward points do I have | Credit cards |
## credit card application
has my credit card application been approved | Credit cards |
## human
I want to speak to a real person | Conversation | E
## bot question
are you a robot? | Conversation |
what can you help me with | Conversation |
## greeting and goodbye
good morning | Conversation |
that's all, goodbye | Conversation |
## music declined
play my favourite song | Out of scope |
## calories declined
how many calories are in a banana | Out of scope |
"""

ACTIONS = {"E": Action.ESCALATE_TO_HUMAN, "V": Action.REQUIRE_VERIFICATION}
#: Characters two consecutive replies may share at their start (a shared preamble is longer).
SHARED_START = 24


def parse(script: str) -> list[tuple[str, list[tuple[str, str, set[Action]]]]]:
    """Conversations as (title, [(message, topic, actions)])."""
    conversations: list[tuple[str, list[tuple[str, str, set[Action]]]]] = []
    for line in script.strip().splitlines():
        if line.startswith("## "):
            conversations.append((line[3:], []))
            continue
        message, topic, actions = (part.strip() for part in line.split("|"))
        conversations[-1][1].append((message, topic, {ACTIONS[a] for a in actions}))
    return conversations


CONVERSATIONS = parse(SCRIPT)


def shared_start(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` have in common."""
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


def after(context: Context, response: Response) -> Context:
    """The context as the session keeps it after this turn."""
    new = context.appended(
        Exchange(
            seq=context.turns + 1, ts=0.0, user=response.redacted_input or "",
            reply=response.reply, intent=response.intent, topic=response.topic,
            sentiment=response.sentiment.score,
        )
    )  # fmt: skip
    new.slots.update(response.slots)
    return new


def test_the_script_has_60_conversations_covering_every_topic() -> None:
    assert len(CONVERSATIONS) >= 60
    covered = {topic for _, turns in CONVERSATIONS for _, topic, _ in turns}
    assert covered == set(TOPIC_NAMES) - {OTHER}


@pytest.mark.parametrize(("title", "turns"), CONVERSATIONS, ids=[t for t, _ in CONVERSATIONS])
async def test_conversation(title: str, turns: list[tuple[str, str, set[Action]]]) -> None:
    agent = NLPAgent()
    context = Context()
    previous = ""
    for message, topic, actions in turns:
        response = await agent.process(message, context)
        said = f"{title}: {message!r} -> {response.intent} / {response.reply!r}"
        assert response.topic == topic, said
        assert set(response.actions) == actions, said
        reply = response.reply
        assert reply, said
        assert "<" not in reply, said  # no placeholder
        assert "{" not in reply, said  # no unfilled template
        assert reply != previous, said
        assert shared_start(reply, previous) < SHARED_START, said
        if topic == "Out of scope":
            assert "adviser" in reply, said  # declines, and offers a human
        previous = reply
        context = after(context, response)
