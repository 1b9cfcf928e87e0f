"""Synthetic support conversations for demos and for training the template ranker.

Every agent turn is either a response template from ``catalog.csv`` (with its placeholders
filled in) or a short free-text reply (``"template": None``). The customer side is written so
that the wording predicts the template without giving it away: each scenario has several
phrasings with varied slots (amounts, merchants, dates, countries) and occasional typos.

The module uses the standard library only and imports nothing from the ``assist`` package, so
it can be run or imported without Django or Celery::

    python -m assist.demo.generator --n 300 --seed 0 --out demo.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COMPANY_NAME = "Northwind Bank"
CATALOG_PATH = Path(__file__).with_name("catalog.csv")
MAX_TURNS = 8
PLACEHOLDER_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

AGENTS = [
    "Maya Patel",
    "Tom Becker",
    "Sofia Rossi",
    "James Okafor",
    "Lena Fischer",
    "Daniel Kim",
]

FIRST_NAMES = [
    "Jane",
    "Oliver",
    "Amelia",
    "Mohammed",
    "Priya",
    "Liam",
    "Chloe",
    "Kwame",
    "Aisha",
    "Lucas",
    "Emma",
    "Noah",
    "Zara",
    "Wei",
    "Hannah",
    "Mateo",
    "Fatima",
    "George",
    "Isla",
    "Tomasz",
    "Sophie",
    "Arjun",
    "Grace",
    "Ravi",
    "Ella",
    "Diego",
    "Freya",
    "Yusuf",
    "Niamh",
    "Kenji",
    "Olivia",
    "Samuel",
    "Leah",
    "Ibrahim",
    "Megan",
    "Andrei",
    "Ruby",
    "Chidi",
    "Alice",
    "Marco",
]
LAST_NAMES = [
    "Doe",
    "Smith",
    "Jones",
    "Khan",
    "Sharma",
    "Murphy",
    "Williams",
    "Mensah",
    "Ali",
    "Silva",
    "Brown",
    "Taylor",
    "Ahmed",
    "Zhang",
    "Evans",
    "Garcia",
    "Hussain",
    "Wilson",
    "Campbell",
    "Nowak",
    "Walker",
    "Patel",
    "Roberts",
    "Singh",
    "Hughes",
    "Lopez",
    "Clarke",
    "Demir",
    "O'Brien",
    "Tanaka",
    "Wright",
    "Green",
    "Cohen",
    "Yilmaz",
    "Baker",
    "Popescu",
    "Hall",
    "Okeke",
    "Martin",
    "Bianchi",
]

MERCHANTS = [
    "Amazon",
    "Tesco",
    "Uber",
    "Ryanair",
    "Zara",
    "Spotify",
    "Booking.com",
    "Deliveroo",
    "Netflix",
    "Lidl",
    "Shell",
    "IKEA",
    "eBay",
    "Airbnb",
    "Trainline",
    "ASOS",
    "Sainsbury's",
    "Just Eat",
    "easyJet",
    "Currys",
    "Boots",
    "Steam",
]
COUNTRIES = [
    "Spain",
    "Portugal",
    "the US",
    "Turkey",
    "Thailand",
    "Mexico",
    "Japan",
    "Morocco",
    "Greece",
    "Croatia",
    "Italy",
    "France",
    "Canada",
    "Dubai",
]
CARDS = ["debit card", "virtual card", "Visa card", "metal card", "physical card", "card"]
FX_CURRENCIES = ["EUR", "USD", "TRY", "THB", "JPY", "CHF", "PLN"]
BANKS = ["Barclays", "HSBC", "Lloyds", "NatWest", "Santander", "Monzo", "my other bank"]
RECIPIENTS = [
    "my landlord",
    "my sister",
    "a friend",
    "my mum",
    "the builder",
    "a supplier",
    "my flatmate",
    "my son",
]
PHONES = ["iPhone 13", "Pixel 7", "Samsung S22", "iPhone 15", "OnePlus 11", "Galaxy A54"]
POSTCODES = ["SW1A 2AA", "M1 4BT", "LS2 7EE", "B15 2TT", "EH1 1YZ", "BS1 5TR", "CF10 3NP"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
CHANNELS = ["chat", "chat", "chat", "chat", "app", "app", "email"]

# What the customer says for each template. Slots in braces are filled per conversation:
# {amount} {merchant} {date} {last4} {country} {card} {fx} {bank} {recipient} {phone}.
SCENARIOS: dict[str, list[str]] = {
    # verification
    "verification.document_upload": [
        "How do I verify my identity? The app keeps asking me to.",
        "My ID verification has been stuck on 'in review' for ages",
        "I can't send money until I verify my account, what do I need to do?",
        "what documents do you need to verify me",
        "The app says my account is restricted until I complete verification.",
        "I uploaded my passport last week and still nothing, is verification still going?",
    ],
    # card_delivery
    "card_delivery.status_check": [
        "Hi, I ordered a new {card} a few days ago, has it been sent yet?",
        "where is my card?? ordered it on {date}",
        "Can you tell me when my new card will arrive?",
        "Just wondering if my replacement card has been posted",
        "Is there a way to track my card delivery?",
        "I'm waiting on my {card}, any update on when it'll get here?",
        "has my card shipped",
    ],
    "card_delivery.not_arrived": [
        "My card still hasn't arrived and it's been over two weeks.",
        "I ordered my card on {date} and it never came",
        "card never arrived, i think it got lost in the post",
        "It's been nearly three weeks and no sign of my {card}, can you send another?",
        "The app says my card was delivered but I never got it",
        "Still no card. This is the second time I'm asking.",
    ],
    "card_delivery.change_address": [
        "I've just moved house, can my new card go to my new address?",
        "Can I change where my card is being delivered to?",
        "i put the wrong address for my card delivery, can you fix it",
        "My card is going to my old flat, I moved out last month!",
        "Please send the card to my work address instead of home",
    ],
    "card_delivery.express": [
        "Is there any way to get my card faster? I'm travelling on {date}",
        "Can I pay for express delivery on my card?",
        "I need the new card urgently, do you do next day delivery?",
        "how quick can you get a card to me, i fly to {country} next week",
        "Is there a faster shipping option for the replacement card?",
    ],
    "card_delivery.activation": [
        "My new card arrived, how do I activate it?",
        "Got the card today but it won't work in shops, does it need activating?",
        "how do i turn on my new {card}",
        "Where do I activate the card in the app? I can't find the button",
        "The new card came in the post, what do I do now to start using it?",
    ],
    # card_lost_stolen
    "card_lost_stolen.freeze": [
        "I think I've lost my card, can you block it for now?",
        "Can't find my {card} anywhere, might be at home but I'm not sure",
        "i left my card at a bar last night, please freeze it",
        "I may have dropped my card on the bus. Can you stop it working until I look?",
        "Please pause my card ending {last4}, I've misplaced it",
        "Lost my wallet, need to lock my card asap",
    ],
    "card_lost_stolen.cancel_replace": [
        "My card was stolen, please cancel it and send a new one",
        "Someone took my wallet on the train, I need a new card",
        "my bag was stolen in {country} with my card in it",
        "I've definitely lost my card ending {last4}. Can you cancel it and order a replacement?",
        "Card got snapped in half, can I get a new one?",
        "Please cancel my card, it was pickpocketed this morning",
        "My card is damaged and the chip doesn't work anymore, need a replacement",
    ],
    "card_lost_stolen.found_card": [
        "Found my card! It was in my coat pocket. How do I unfreeze it?",
        "I froze my card yesterday but I've found it now",
        "good news i found the card, can you turn it back on",
        "Can you unblock my card? It turned up under the sofa",
        "I locked my card by mistake, how do I unlock it?",
    ],
    "card_lost_stolen.atm_retained": [
        "The ATM swallowed my card!",
        "A cash machine in {country} kept my card and didn't give it back",
        "my card got stuck in the atm at {merchant}, what do i do",
        "The machine ate my card after I took out cash. Can I get it back?",
        "ATM retained my card this morning, is there any way to get it back?",
    ],
    # card_declined
    "card_declined.insufficient_funds": [
        "Why was my card declined at {merchant}? It was only {amount}",
        "My payment of {amount} got declined but I thought I had money in",
        "card declined at the till today, the payment was {amount}",
        "Tried to pay {merchant} {amount} and it said declined, I'm sure my balance was fine",
        "Why did my {card} get rejected for a {amount} purchase?",
        "declined again!! what is going on, it was {amount} at {merchant}",
    ],
    "card_declined.online_disabled": [
        "I can't pay online with my card, it keeps getting declined on {merchant}",
        "My card works in shops but not on websites",
        "online payment failed on {merchant}, card works fine in person",
        "Why won't my card work for internet purchases?",
        "Every time I try to buy something online it says the card was declined",
        "trying to order on {merchant} and the payment keeps failing",
    ],
    "card_declined.contactless_limit": [
        "Contactless stopped working, the machine asked for chip and PIN",
        "why does my card keep getting declined when I tap it?",
        "tapping my card at {merchant} didn't work but inserting it did",
        "Contactless payment declined for a small coffee, what's wrong?",
        "My card won't work contactless anymore, only with the PIN",
    ],
    "card_declined.foreign_block": [
        "I'm in {country} and my card is being declined everywhere",
        "card not working abroad, currently on holiday in {country}",
        "Just landed in {country} and couldn't pay for the taxi with my card",
        "Do I need to tell you I'm travelling? My card got declined in {country}",
        "my {card} is rejected at every shop here in {country}, help",
        "Payment declined at a hotel in {country}, works fine at home",
    ],
    "card_declined.pin_blocked": [
        "I entered my PIN wrong too many times and now it's blocked",
        "My PIN is locked, how do I unlock it?",
        "forgot my pin and got it wrong 3 times",
        "The card machine said PIN tries exceeded, what now?",
        "I can't remember my PIN, where can I see it?",
    ],
    "card_declined.suspicious_block": [
        "My card was blocked after I tried to buy a laptop from {merchant}, it was me!",
        "I got a fraud alert for a {amount} payment but that was my purchase",
        "You blocked my card for suspicious activity but it was me paying {merchant}",
        "payment of {amount} declined and i got a text saying it looked unusual, it was me",
        "Why did your fraud system block my {amount} payment? I made it myself",
    ],
    # disputes
    "disputes.open_chargeback": [
        "I paid {merchant} {amount} on {date} and never received the item",
        "I want to dispute a {amount} charge from {merchant}, they never delivered",
        "The seller sent me a broken product and won't answer me. Can you get my {amount} back?",
        "I cancelled my subscription with {merchant} but they still charged me {amount}",
        "Can I raise a chargeback for a purchase from {date}? The goods never arrived",
        "merchant is ignoring me and i want my money back ({amount})",
        "I want to dispute a transaction, {merchant} charged me {amount} for something I returned",
    ],
    "disputes.contact_merchant_first": [
        "{merchant} sent me the wrong size and I want to dispute the payment",
        "How do I get a refund from a shop that sold me something faulty?",
        "Can you dispute a payment for me? I haven't spoken to the merchant yet",
        "i want to cancel a payment to {merchant}, didnt like the product",
        "The hotel charged me extra {amount} on checkout, can you reverse it?",
    ],
    "disputes.status_update": [
        "Any update on my dispute? I opened it a few weeks ago",
        "What's happening with my chargeback for {merchant}?",
        "I'm still waiting to hear about the dispute for {amount}",
        "how long does a dispute take?? it's been ages",
        "Can you check the status of my dispute case please?",
    ],
    "disputes.duplicate_charge": [
        "I've been charged twice by {merchant} for the same thing",
        "there are two payments of {amount} to {merchant} on my account",
        "Double charge on my account from {date}, {amount} each",
        "{merchant} took the money twice, I only bought one ticket",
        "Why do I see the same {amount} payment two times?",
        "I got charged {amount} two times at the petrol station",
    ],
    "disputes.rejected": [
        "Why was my dispute rejected? {merchant} never gave me a refund",
        "You closed my chargeback in the merchant's favour, that's not fair",
        "My dispute was declined but I have emails proving I cancelled",
        "I got a message saying my dispute against {merchant} was unsuccessful, what can I do?",
        "dispute lost?? i never got what i paid for",
    ],
    # transfers
    "transfers.pending": [
        "I sent {amount} to {recipient} on {date} and it still says pending",
        "My transfer hasn't gone through yet, why is it taking so long?",
        "transfer to {bank} still processing, sent it yesterday",
        "{recipient} says they haven't received the {amount} I sent",
        "How long does a bank transfer take? Mine is still pending",
        "The payment I made to {recipient} is showing as in progress, is that normal?",
    ],
    "transfers.wrong_details": [
        "I sent money to the wrong account by mistake! {amount}",
        "I typed the account number wrong and the payment went through",
        "accidentally transferred {amount} to the wrong person, can i get it back",
        "I paid the wrong IBAN on {date}, can you reverse it?",
        "Sent {amount} to an old account of {recipient}'s that they don't use anymore",
        "Made a typo in the sort code and the money left my account",
    ],
    "transfers.international_time": [
        "How long does it take to send money to {country}?",
        "I sent {amount} abroad to {recipient} on {date}, when will it arrive?",
        "international transfer to {country} still not received",
        "My SWIFT transfer to {country} hasn't arrived yet",
        "When will my transfer in {fx} land in the other account?",
    ],
    "transfers.cancel": [
        "Can I cancel a transfer I just made?",
        "I need to stop a payment I sent to {recipient} five minutes ago",
        "please cancel my last transfer of {amount}, I sent it too early",
        "Is it possible to undo a bank transfer? It still says pending",
        "I changed my mind about the {amount} payment, can it be cancelled?",
    ],
    "transfers.limits": [
        "What's the maximum I can transfer in a day?",
        "It says I've hit my transfer limit, can I increase it?",
        "i need to send a large amount for a house deposit, is there a limit",
        "Why can't I send more than a certain amount to {recipient}?",
        "How do I raise my daily transfer limit?",
    ],
    "transfers.returned": [
        "My transfer to {recipient} bounced back, why?",
        "The {amount} I sent came back to my account",
        "payment returned by the other bank, what does that mean",
        "I sent money to {bank} and it was returned a day later",
        "Why was my transfer of {amount} sent back to me?",
    ],
    "transfers.incoming_missing": [
        "Someone sent me money from {bank} but it hasn't arrived",
        "My salary hasn't come in yet, it was paid on {date}",
        "waiting for {amount} from {recipient}, they say it left their account",
        "I'm expecting a transfer of {amount} and it's not showing",
        "Where is my incoming payment? The sender says it was sent yesterday",
        "money from my {bank} account still not here",
    ],
    # refunds
    "refunds.merchant_pending": [
        "{merchant} said they refunded me {amount} but I don't see it",
        "When will my refund from {merchant} show up?",
        "I returned an order and the shop says the refund was processed on {date}",
        "still waiting on a refund of {amount}, merchant says it's done",
        "How long do refunds take to come back to my card?",
        "Got an email from {merchant} saying refund issued but nothing in my account",
    ],
    "refunds.hold_release": [
        "The hotel put a hold of {amount} on my card, when will I get it back?",
        "There's a pending payment of {amount} for an order I cancelled",
        "{merchant} reserved {amount} on my card for a car rental, it's still there",
        "pending charge from {merchant} that never went through, is the money gone?",
        "My order was cancelled but {amount} is still blocked on my account",
    ],
    "refunds.proof_request": [
        "{merchant} refunded me over two weeks ago and it never arrived",
        "The merchant insists they sent my refund but it's been a month",
        "My refund is missing, the shop says it's on your side",
        "refund of {amount} from {date} never came through, what can you do",
        "I have a refund confirmation from {merchant} but no money",
    ],
    "refunds.atm_cash_not_dispensed": [
        "The ATM didn't give me any cash but took {amount} from my account",
        "cash machine took the money but nothing came out",
        "I tried to withdraw {amount} in {country} and the ATM gave me nothing",
        "Withdrawal failed at the ATM but my balance went down by {amount}",
        "The ATM only gave me part of the cash I asked for",
    ],
    # fees
    "fees.atm_withdrawal": [
        "Why was I charged a fee for taking out cash?",
        "Is there a charge for ATM withdrawals abroad?",
        "i got a fee on my cash withdrawal in {country}, why",
        "How much can I withdraw from cash machines for free?",
        "There's a withdrawal fee on my statement I don't understand",
    ],
    "fees.goodwill_refund": [
        "I was charged a {amount} fee that I didn't know about, can you refund it?",
        "That {amount} fee is unfair, I've been a customer for years",
        "please remove the {amount} charge, I didn't know there was a fee",
        "Can you waive the {amount} fee just this once?",
        "I'd like the {amount} late fee reversed, it was a mistake on my part",
    ],
    "fees.plan_fee": [
        "What is this {amount} charge every month?",
        "Why am I paying {amount} a month?",
        "there's a {amount} fee on my account each month, what is it for",
        "I didn't realise my plan cost {amount}, can I change it?",
        "What's the monthly fee on my account for?",
    ],
    "fees.card_replacement": [
        "Why did you charge me {amount} for a new card?",
        "Is there a fee for ordering a replacement card?",
        "how much is a new card if I lose mine again",
        "I was charged {amount} when I ordered my replacement card",
        "Do I have to pay for a replacement card?",
    ],
    # account_closure
    "account_closure.request": [
        "I want to close my account",
        "How do I delete my {company} account?",
        "please close my account, i don't use it anymore",
        "I'm moving to {bank} and want to shut this account down",
        "Can you close my account? I'm leaving the country",
        "I'd like to cancel my account and get my money out",
    ],
    "account_closure.confirmed": [
        "I've moved all my money out, please go ahead and close the account",
        "Balance is zero now, can you confirm the account is closed?",
        "I asked to close my account last week, is it done?",
        "i emptied my account, close it please",
        "Can you finalise the closure? I've transferred everything to {bank}",
    ],
    "account_closure.retention": [
        "I want to close my account because the monthly fee is too high",
        "Thinking of leaving, I'm paying too much for my plan",
        "i'll close my account unless there's a cheaper option",
        "Your fees are too expensive, I want to cancel",
        "I barely use the account and don't want to keep paying for it",
    ],
    "account_closure.pending_items": [
        "Why can't I close my account? The app won't let me",
        "I tried to close my account but it says there's something pending",
        "close account button is greyed out, why",
        "I want to close the account but there's a pending payment to {merchant}",
        "The app says my account can't be closed yet, what's blocking it?",
    ],
    # account_access
    "account_access.reset_passcode": [
        "I forgot my passcode",
        "How do I reset my login passcode?",
        "cant remember my passcode to get into the app",
        "I need to change my passcode, I think someone saw me type it",
        "Forgotten my app password, how do I get back in?",
    ],
    "account_access.locked": [
        "My account is locked, it says too many attempts",
        "I got locked out of the app after trying my passcode",
        "it says my account is temporarily locked??",
        "Can't log in, the app says account locked, please help",
        "I typed the wrong passcode a few times and now I'm locked out",
    ],
    "account_access.new_phone": [
        "I got a new phone, how do I log in on it?",
        "Just switched to a {phone}, how do I move my account over?",
        "new phone, can't get into the app",
        "How do I use the app on my new {phone}? My old one broke",
        "I changed phones and the app asks me to verify, what do I do?",
    ],
    "account_access.change_phone_number": [
        "I have a new phone number, how do I update it?",
        "I lost access to my old number, how can I change it on my account?",
        "need to change my mobile number on the account",
        "My number changed and now I can't receive codes",
        "How do I switch the phone number linked to my account?",
    ],
    "account_access.no_sms_code": [
        "I'm not getting the verification code by text",
        "the sms code never arrives",
        "No code received when I try to log in",
        "I've requested the login code three times and nothing came",
        "Why am I not receiving the 6 digit code?",
    ],
    # app_technical
    "app_technical.update_app": [
        "The app keeps crashing when I open it",
        "My balance isn't loading in the app",
        "app is stuck on the loading screen",
        "The transactions page is blank on my {phone}",
        "app keeps freezing when I go to cards",
        "Everything in the app looks weird since this morning",
    ],
    "app_technical.reinstall": [
        "I've already updated the app and it still crashes",
        "Restarting didn't help, the app still won't open",
        "still not working after the update",
        "Tried closing and opening it again, same problem",
        "the app is updated and my phone is restarted but it still crashes",
    ],
    "app_technical.known_outage": [
        "Is the app down? Nothing is working",
        "is there an outage?? can't make any payments",
        "None of my friends with {company} can log in either, what's going on?",
        "Are you having problems today? The app shows an error for everyone",
        "Your service seems to be down, is my money safe?",
    ],
    "app_technical.screenshot_request": [
        "I get an error message when I try to send money",
        "The app shows 'something went wrong' every time I open cards",
        "weird error code when I try to add a payee",
        "I keep getting an error on the payments screen",
        "There's an error when I try to upload a document",
    ],
    "app_technical.notifications": [
        "I'm not getting notifications for my payments anymore",
        "Push notifications stopped working",
        "no alerts when I spend on my card",
        "How do I turn payment notifications back on?",
        "I stopped getting the little messages when I pay for things",
    ],
    # top_up
    "top_up.pending": [
        "I topped up {amount} and it's still pending",
        "My top-up hasn't shown up in my balance",
        "added money with my {bank} card but it's not there yet",
        "Why is my top-up of {amount} taking so long?",
        "top up pending for an hour now",
    ],
    "top_up.failed": [
        "My top-up failed, why?",
        "I tried to add {amount} with my card and it was declined",
        "top up keeps failing with my {bank} card",
        "Can't add money to my account, it says top-up unsuccessful",
        "The top-up of {amount} didn't work, I tried twice",
    ],
    "top_up.bank_transfer_details": [
        "How do I add money by bank transfer?",
        "What are my account details so I can send money from {bank}?",
        "where do i find my sort code and account number",
        "I want to move money from my {bank} account into this one",
        "Can I top up using a normal bank transfer instead of a card?",
    ],
    "top_up.card_limit": [
        "Is there a limit on how much I can top up with a card?",
        "I tried to top up a large amount and it said over the limit",
        "what's the max top-up by card",
        "Why can't I add more than a certain amount with my debit card?",
        "I need to add a big amount quickly, is there a top-up limit?",
    ],
    "top_up.methods": [
        "Can I put cash into my account?",
        "What ways are there to add money?",
        "can i top up with apple pay",
        "Is it possible to deposit a cheque?",
        "How can I pay cash into {company}?",
    ],
    # exchange_rates
    "exchange_rates.how_calculated": [
        "What exchange rate do you use?",
        "How are your exchange rates calculated when I pay in {fx}?",
        "the rate on my {fx} payment looks different to google",
        "Do you add a markup when I spend in {country}?",
        "Is the exchange rate fixed or does it change?",
    ],
    "exchange_rates.weekend_markup": [
        "Why was the exchange rate worse when I paid on Saturday?",
        "I exchanged money on a Sunday and got a bad rate",
        "the rate on my weekend payment in {country} was higher than usual",
        "Is there an extra fee for exchanging {fx} at the weekend?",
        "Why did I pay more for currency on {date}? It was a Saturday",
    ],
    "exchange_rates.card_payment_rate": [
        "The amount for my payment in {country} changed after it was pending",
        "I paid {merchant} in {fx} and the final amount is different from what I saw",
        "why did the {fx} payment go up after it cleared",
        "The pending amount was {amount} but the final one is higher",
        "My purchase abroad settled for a different amount, why?",
    ],
    "exchange_rates.supported_currencies": [
        "Can I hold {fx} in my account?",
        "Which currencies do you support?",
        "how do i open a {fx} account in the app",
        "I'm going to {country}, can I exchange money in advance?",
        "Is it possible to keep a balance in a foreign currency?",
    ],
    # statements
    "statements.download": [
        "How do I download my bank statement?",
        "I need a statement for the last three months for my landlord",
        "where can i get my statements",
        "Can I export my transactions to a spreadsheet?",
        "I need a PDF statement for a mortgage application",
    ],
    "statements.bank_letter": [
        "I need an official letter confirming I have an account with you",
        "Can you send me a bank reference letter for my visa application?",
        "my employer needs proof of my bank account, can you send a letter",
        "I need a stamped account confirmation letter",
        "Can I get a document that shows my account details for my new job?",
    ],
    "statements.merchant_name": [
        "There's a payment of {amount} from a company I don't recognise",
        "What is this strange name on my statement from {date}?",
        "i dont recognise a payment of {amount}, the name is just letters and numbers",
        "Who is this merchant? The name on my transaction makes no sense",
        "I see a transaction I don't recognise but I think it might be from {merchant}",
    ],
    # fraud
    "fraud.unrecognised_payment": [
        "There are payments on my card I didn't make!",
        "Someone used my card, I see {amount} at {merchant} and it wasn't me",
        "i have transactions from {country} and ive never been there",
        "I didn't authorise a payment of {amount} on {date}",
        "My card has been used fraudulently, several charges I don't recognise",
        "Unknown charges on my {card} ending {last4}, I still have the card",
    ],
    "fraud.phishing_warning": [
        "I got a text saying my account is blocked with a link to click, is it from you?",
        "Someone called claiming to be from {company} and asked for my code",
        "is this email from you? it asks me to confirm my card details",
        "I received a suspicious message asking me to move my money to a safe account",
        "Got a weird SMS about a payment I didn't make with a phone number to call",
    ],
    "fraud.compromised_account": [
        "I think someone has access to my account",
        "I gave my code to someone on the phone and now I'm worried",
        "someone changed my email on the account and it wasn't me",
        "I clicked a link and entered my details, I think I've been hacked",
        "There's a login from a device I don't own",
    ],
    "fraud.scam_transfer": [
        "I think I've been scammed, I sent {amount} to someone for a car that doesn't exist",
        "I paid a seller {amount} on Facebook and they blocked me",
        "a man pretending to be from the bank made me transfer {amount}",
        "I sent money for a rental flat and the landlord has disappeared",
        "I transferred {amount} for an investment and now I can't reach them",
    ],
    "fraud.confirm_transaction": [
        "I got a notification asking if a payment was me, what is it?",
        "Your app is asking me to confirm a payment, is that real?",
        "got a 'was this you' message for {amount}",
        "What is this security check about a payment to {merchant}?",
        "My payment is on hold and the app wants me to confirm it",
    ],
    # escalation
    "escalation.specialist_team": [
        "This is about my business account application, who can help?",
        "I need to talk to someone about a power of attorney on my account",
        "My mortgage lender needs detailed information about large deposits",
        "i need help with an inheritance payment into my account",
        "I want to report a bereavement and sort out my father's account",
    ],
    "escalation.complaint": [
        "I want to make a formal complaint",
        "This is the third time I've contacted you about this, I want to complain",
        "how do i file a complaint, the service has been terrible",
        "I'm very unhappy with how my case was handled and want to complain",
        "I want this logged as a complaint please",
    ],
    "escalation.callback": [
        "Can someone call me instead? It's easier to explain on the phone",
        "I'd prefer to speak to someone, can I get a call back?",
        "can you ring me tomorrow",
        "Is it possible to arrange a phone call with a specialist?",
        "I don't like typing, please phone me",
    ],
    "escalation.supervisor": [
        "I want to speak to your manager",
        "Can I talk to a supervisor please?",
        "this isn't good enough, get me someone senior",
        "I'd like to speak to someone higher up",
        "Put me through to a team leader",
    ],
    # general
    "general.savings_rates": [
        "What interest rate do you pay on savings?",
        "Do you have a savings account?",
        "how much interest would i get if i save with you",
        "Is there an easy access savings pot?",
        "What's your current savings rate?",
    ],
    "general.deposit_protection": [
        "Is my money protected if the bank goes bust?",
        "Are you covered by the FSCS?",
        "how safe is my money with you",
        "Is there a limit to how much of my money is protected?",
        "What happens to my savings if {company} fails?",
    ],
    "general.add_to_wallet": [
        "How do I add my card to Apple Pay?",
        "Can I use Google Pay with your card?",
        "add card to my phone wallet how",
        "I want to pay with my {phone}, how do I set it up?",
        "Does my {card} work with Apple Pay?",
    ],
    "general.update_personal_details": [
        "I've moved house, how do I update my address?",
        "I got married and need to change my surname",
        "need to update my address on the account",
        "How do I change my name on my account?",
        "My address is wrong on my statements, can I fix it?",
    ],
    "general.feature_request": [
        "It would be great if the app had a dark mode",
        "Can you add a way to split bills with friends?",
        "suggestion: let us set spending limits per category",
        "Please add joint accounts, my partner and I would use it",
        "Any plans to support cashback on card payments?",
    ],
    "general.need_more_info": [
        "I have a problem with a payment",
        "Something's wrong with my account",
        "hi i need help",
        "There's an issue with my money",
        "I need help with a transaction",
        "my card isn't right",
    ],
}

# Which second issue tends to follow which first one (besides random ones).
RELATED: dict[str, list[str]] = {
    "card_delivery.status_check": ["card_delivery.express", "card_delivery.change_address"],
    "card_delivery.not_arrived": ["card_delivery.express", "escalation.complaint"],
    "card_delivery.activation": ["general.add_to_wallet", "card_declined.pin_blocked"],
    "card_lost_stolen.freeze": ["card_lost_stolen.found_card", "fraud.unrecognised_payment"],
    "card_lost_stolen.cancel_replace": ["card_delivery.express", "fees.card_replacement"],
    "card_lost_stolen.atm_retained": ["card_delivery.express", "refunds.atm_cash_not_dispensed"],
    "card_declined.foreign_block": ["fees.atm_withdrawal", "exchange_rates.how_calculated"],
    "card_declined.insufficient_funds": ["top_up.pending", "top_up.bank_transfer_details"],
    "disputes.open_chargeback": ["disputes.status_update", "escalation.callback"],
    "disputes.rejected": ["escalation.complaint", "escalation.supervisor"],
    "disputes.status_update": ["escalation.complaint"],
    "transfers.pending": ["transfers.cancel", "transfers.international_time"],
    "transfers.wrong_details": ["escalation.callback", "escalation.complaint"],
    "transfers.limits": ["verification.document_upload"],
    "refunds.proof_request": ["disputes.open_chargeback"],
    "fees.plan_fee": ["account_closure.retention", "fees.goodwill_refund"],
    "fees.atm_withdrawal": ["fees.goodwill_refund"],
    "account_closure.request": ["account_closure.pending_items", "statements.download"],
    "account_closure.retention": ["account_closure.request"],
    "account_access.new_phone": ["account_access.no_sms_code"],
    "account_access.change_phone_number": ["account_access.no_sms_code"],
    "app_technical.update_app": ["app_technical.reinstall", "app_technical.known_outage"],
    "app_technical.screenshot_request": ["app_technical.reinstall"],
    "top_up.failed": ["top_up.bank_transfer_details", "top_up.methods"],
    "top_up.card_limit": ["top_up.bank_transfer_details"],
    "exchange_rates.how_calculated": ["exchange_rates.weekend_markup"],
    "exchange_rates.supported_currencies": ["exchange_rates.how_calculated"],
    "fraud.unrecognised_payment": ["card_lost_stolen.cancel_replace", "disputes.status_update"],
    "fraud.phishing_warning": ["fraud.compromised_account"],
    "fraud.compromised_account": ["account_access.reset_passcode"],
    "fraud.scam_transfer": ["escalation.callback", "escalation.complaint"],
    "general.savings_rates": ["general.deposit_protection"],
    "general.update_personal_details": ["card_delivery.change_address", "statements.bank_letter"],
    "statements.download": ["statements.bank_letter"],
}

# Templates whose {amount} is a fee or limit rather than the customer's payment.
AMOUNT_OVERRIDES: dict[str, list[str]] = {
    "card_delivery.express": ["£4.99", "£7.99", "£9.99"],
    "transfers.limits": ["£5,000", "£10,000", "£25,000"],
    "fees.atm_withdrawal": ["£200", "£400", "£800"],
    "fees.goodwill_refund": ["£2.50", "£3.00", "£5.00", "£6.99"],
    "fees.plan_fee": ["£2.99", "£6.99", "£12.99"],
    "fees.card_replacement": ["£5.00", "£6.00"],
    "top_up.card_limit": ["£2,000", "£5,000"],
    "general.deposit_protection": ["£85,000"],
}

# (lowest, highest) value for {days} per template; anything else uses DEFAULT_DAYS.
DAYS_RANGE: dict[str, tuple[int, int]] = {
    "verification.document_upload": (2, 3),
    "card_delivery.status_check": (3, 7),
    "card_delivery.not_arrived": (10, 14),
    "card_delivery.express": (2, 2),
    "card_lost_stolen.cancel_replace": (3, 7),
    "disputes.open_chargeback": (30, 45),
    "disputes.contact_merchant_first": (7, 14),
    "disputes.duplicate_charge": (3, 7),
    "transfers.pending": (2, 3),
    "transfers.international_time": (2, 5),
    "transfers.incoming_missing": (2, 3),
    "refunds.merchant_pending": (5, 10),
    "refunds.hold_release": (7, 10),
    "refunds.atm_cash_not_dispensed": (5, 10),
    "account_closure.confirmed": (30, 90),
    "account_closure.pending_items": (3, 7),
    "top_up.bank_transfer_details": (2, 2),
    "statements.bank_letter": (2, 5),
    "fraud.unrecognised_payment": (5, 10),
    "fraud.scam_transfer": (5, 15),
    "escalation.specialist_team": (3, 5),
    "escalation.complaint": (15, 15),
}
DEFAULT_DAYS = (3, 7)

# Templates whose {date} lies in the future (an expected outcome or a callback).
FUTURE_DATE_KEYS = {"disputes.status_update", "escalation.callback", "refunds.merchant_pending"}

# Scenarios where the agent often checks identity or the card first.
IDENTITY_CHECK_PREFIXES = (
    "account_closure.",
    "account_access.change_phone_number",
    "fraud.compromised_account",
    "fraud.scam_transfer",
    "general.update_personal_details",
    "statements.bank_letter",
    "transfers.wrong_details",
    "transfers.cancel",
)
CARD_CHECK_PREFIXES = (
    "card_lost_stolen.freeze",
    "card_lost_stolen.cancel_replace",
    "card_declined.",
    "fraud.unrecognised_payment",
    "card_delivery.activation",
)
REFERENCE_CATEGORIES = {"disputes", "fraud", "escalation", "transfers", "refunds"}

CUSTOMER_HELLOS = [
    "Hi",
    "Hello",
    "hi there",
    "Hey",
    "Good morning",
    "Hello, is anyone there?",
    "hiya",
    "Good afternoon",
    "hello?",
]
CUSTOMER_HELLOS_RETURNING = [
    "Hi, it's me again",
    "hello again",
    "Hi, I was chatting with someone earlier",
    "Me again, sorry",
]
CUSTOMER_HELLOS_WAITED = [
    "Hello? I've been waiting for ages",
    "finally, hi",
    "Hi, been in the queue for 20 minutes",
]
SECOND_ISSUE_PREFIXES = [
    "Also, ",
    "One more thing: ",
    "While I have you, ",
    "oh and ",
    "Another question. ",
    "Thanks. ",
    "",
    "ok. also ",
]
CUSTOMER_THANKS = [
    "Thanks!",
    "Great, thank you",
    "perfect thanks",
    "ok cheers",
    "That's all, thanks",
    "Brilliant, that worked",
    "thank you so much",
    "Ok thanks for your help",
    "ty",
    "Sorted, thanks",
]
CUSTOMER_ACKS = ["ok", "Sure", "ok thanks", "No problem", "Thanks, I'll wait", "sure thing"]
AGENT_HOLDS = [
    "Let me check that for you, one moment.",
    "Thanks for explaining. I'm looking into this now.",
    "One moment please while I pull up your account.",
    "I'm sorry to hear that. Give me a second to look at your recent activity.",
    "Thanks, bear with me while I check.",
    "Let me take a look at this for you.",
]
# Customer follow-up questions answered in free text: (question, answers, categories it suits;
# an empty tuple means any category).
_WAITING = (
    "card_delivery",
    "card_lost_stolen",
    "disputes",
    "transfers",
    "refunds",
    "fraud",
    "escalation",
    "verification",
    "account_closure",
    "top_up",
)
_IN_APP = (
    "account_access",
    "app_technical",
    "card_declined",
    "top_up",
    "statements",
    "general",
    "exchange_rates",
    "card_delivery",
    "card_lost_stolen",
    "fees",
)
CLARIFICATIONS: list[tuple[str, list[str], tuple[str, ...]]] = [
    (
        "How long will that take?",
        [
            "It's usually quick, and you'll get a notification in the app as soon as it's done.",
            "Most cases are done within a few days, and we'll keep you updated.",
        ],
        _WAITING,
    ),
    (
        "Will I get a notification when it's done?",
        [
            "Yes, you'll get a push notification and an email as soon as there's an update.",
            "Yes, we'll message you in the app once it's complete.",
        ],
        _WAITING,
    ),
    (
        "Is there a fee for that?",
        [
            "No, there's no charge for this.",
            "There's no fee for this on your current plan.",
        ],
        (
            "card_delivery",
            "card_lost_stolen",
            "transfers",
            "top_up",
            "statements",
            "exchange_rates",
        ),
    ),
    (
        "Do I need to do anything else?",
        [
            "No, there's nothing else you need to do on your side.",
            "Nothing else for now, I've taken care of everything.",
        ],
        (),
    ),
    (
        "ok so should I just wait then?",
        [
            "Yes, for now the best thing is to wait, and we'll be in touch if we need anything.",
            "That's right, no action is needed from you at the moment.",
        ],
        _WAITING,
    ),
    (
        "Can you send me that in writing?",
        [
            "Of course, I'll send a copy of this conversation to your registered email.",
            "Sure, you'll find a transcript of this chat in the app under Help > Conversations.",
        ],
        (),
    ),
    (
        "Sorry, where exactly is that in the app?",
        [
            "Tap your profile picture in the top left of the home screen; you'll find it there.",
            "It's in the main menu of the app; if you can't see it, please update the app first.",
        ],
        _IN_APP,
    ),
    (
        "and what if that doesn't work?",
        [
            "If it still doesn't work, just message us again here and we'll take it from there.",
            "Then please come back to this chat and we'll look into it further.",
        ],
        ("account_access", "app_technical", "card_declined", "card_delivery", "top_up"),
    ),
]
IDENTITY_REPLIES = [
    "Sure, {dob}, postcode {postcode}",
    "DOB is {dob} and postcode {postcode}",
    "{dob} / {postcode}",
    "it's {dob}, {postcode}",
]
CARD_CHECK_REPLIES = [
    "Yes, that's the one",
    "yep ending {last4}",
    "Yes",
    "That's right",
    "yes that's my card",
]

TYPO_SWAPS = [("you", "u"), ("please", "pls"), ("thanks", "thx"), ("because", "bc")]


def load_catalog(catalog_path: Path | None = None) -> list[dict[str, str]]:
    """Read the template catalog (``key,title,body,category``) with the csv module."""
    path = Path(catalog_path) if catalog_path is not None else CATALOG_PATH
    with path.open(newline="", encoding="utf-8") as fh:
        return [dict(row) for row in csv.DictReader(fh)]


def _fill(text: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders with values; unknown names are left untouched."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _random_date(rng: random.Random) -> tuple[int, int]:
    return rng.randint(1, 12), rng.randint(1, 28)


def _agent_date(month: int, day: int) -> str:
    return f"{day} {MONTHS[month - 1]}"


def _customer_date(rng: random.Random, month: int, day: int) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"{day} {MONTHS[month - 1]}"
    if style == 1:
        return f"{MONTHS[month - 1][:3]} {day}"
    if style == 2:
        return f"the {_ordinal(day)}"
    return f"{day:02d}/{month:02d}"


def _random_amount(rng: random.Random) -> str:
    if rng.random() < 0.3:
        value = f"{rng.choice([20, 25, 40, 50, 60, 75, 100, 120, 150, 200, 250, 300, 500]):,}"
    else:
        value = f"{rng.uniform(3, 950):,.2f}"
    return f"£{value}"


def _customer_amount(rng: random.Random, amount: str) -> str:
    bare = amount.lstrip("£")
    if "." not in bare:
        return rng.choice([amount, amount, f"{bare} pounds"])
    return rng.choice([amount, amount, bare, f"{bare} GBP"])


def _noisy(rng: random.Random, text: str) -> str:
    """Make customer text a little messier: lowercase, typos, slang, missing punctuation."""
    if rng.random() < 0.1:
        for word, short in TYPO_SWAPS:
            text = re.sub(rf"\b{word}\b", short, text, flags=re.IGNORECASE)
    if rng.random() < 0.12:
        words = text.split(" ")
        candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if candidates:
            i = rng.choice(candidates)
            w = words[i]
            j = rng.randrange(1, len(w) - 2)
            kind = rng.randrange(3)
            if kind == 0:
                w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
            elif kind == 1:
                w = w[:j] + w[j + 1 :]
            else:
                w = w[:j] + w[j] + w[j:]
            words[i] = w
            text = " ".join(words)
    if rng.random() < 0.15:
        text = text.lower()
    if rng.random() < 0.2:
        text = text.rstrip(".!")
    return text


def _customer_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


class _Conversation:
    """Builds one conversation, keeping its slot values consistent across turns."""

    def __init__(self, rng: random.Random, bodies: dict[str, str], number: int) -> None:
        self.rng = rng
        self.bodies = bodies
        self.number = number
        self.customer_name = _customer_name(rng)
        self.agent_name = rng.choice(AGENTS)
        self.channel = rng.choice(CHANNELS)
        month, day = _random_date(rng)
        self.month, self.day = month, day
        self.slots: dict[str, str] = {
            "customer_name": self.customer_name,
            "customer_first_name": self.customer_name.split(" ")[0],
            "agent_name": self.agent_name,
            "agent_first_name": self.agent_name.split(" ")[0],
            "company_name": COMPANY_NAME,
            "last4": f"{rng.randrange(10000):04d}",
            "reference": self._reference(),
        }
        self.customer_slots: dict[str, str] = {
            "merchant": rng.choice(MERCHANTS),
            "country": rng.choice(COUNTRIES),
            "card": rng.choice(CARDS),
            "fx": rng.choice(FX_CURRENCIES),
            "bank": rng.choice(BANKS),
            "recipient": rng.choice(RECIPIENTS),
            "phone": rng.choice(PHONES),
            "company": rng.choice([COMPANY_NAME, "Northwind", "you guys"]),
            "last4": self.slots["last4"],
            "dob": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1950, 2005)}",
            "postcode": rng.choice(POSTCODES),
        }
        self._set_amount(_random_amount(rng))
        self.customer_slots["date"] = _customer_date(rng, month, day)
        self.turns: list[dict[str, Any]] = []

    def _reference(self) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        return "NW-" + "".join(self.rng.choice(alphabet) for _ in range(8))

    def _set_amount(self, amount: str) -> None:
        self.slots["amount"] = amount
        self.customer_slots["amount"] = _customer_amount(self.rng, amount)

    def prepare(self, key: str, *, fresh: bool = False) -> None:
        """Set per-template slot values before the customer describes an issue.

        ``fresh`` draws a new amount, merchant and date, for a second, unrelated issue.
        """
        if key in AMOUNT_OVERRIDES:
            self._set_amount(self.rng.choice(AMOUNT_OVERRIDES[key]))
        elif fresh:
            self._set_amount(_random_amount(self.rng))
        if fresh:
            self.customer_slots["merchant"] = self.rng.choice(MERCHANTS)
            self.month, self.day = _random_date(self.rng)
            self.customer_slots["date"] = _customer_date(self.rng, self.month, self.day)

    def customer(self, text: str, *, noisy: bool = True) -> None:
        text = _fill(text, self.customer_slots)
        if noisy:
            text = _noisy(self.rng, text)
        self.turns.append({"role": "customer", "text": text})

    def agent_template(self, key: str) -> None:
        values = dict(self.slots)
        lo, hi = DAYS_RANGE.get(key, DEFAULT_DAYS)
        values["days"] = str(self.rng.randint(lo, hi))
        if key in FUTURE_DATE_KEYS:
            month = self.month % 12 + 1
            values["date"] = _agent_date(month, self.rng.randint(1, 28))
        else:
            values["date"] = _agent_date(self.month, self.day)
        self.turns.append(
            {"role": "agent", "text": _fill(self.bodies[key], values), "template": key}
        )

    def agent_free(self, text: str) -> None:
        self.turns.append({"role": "agent", "text": text, "template": None})

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": f"demo-{self.number:05d}",
            "customer_name": self.customer_name,
            "channel": self.channel,
            "turns": self.turns,
        }


def _issue_text(rng: random.Random, key: str) -> str:
    return rng.choice(SCENARIOS[key])


def _build(
    rng: random.Random, bodies: dict[str, str], keys: list[str], number: int
) -> dict[str, Any]:
    conv = _Conversation(rng, bodies, number)
    main = rng.choice(keys)

    # Plan the optional parts first, then drop some if the conversation would be too long.
    opener = rng.choices(["hello", "greet", "none"], weights=[40, 35, 25])[0]
    greeting = (
        "greeting.formal"
        if conv.channel == "email" and rng.random() < 0.7
        else rng.choices(
            ["greeting.standard", "greeting.returning", "greeting.wait_apology", "greeting.formal"],
            weights=[60, 12, 15, 13],
        )[0]
    )
    check = None
    if main.startswith(IDENTITY_CHECK_PREFIXES) and rng.random() < 0.45:
        check = "identity"
    elif main.startswith(CARD_CHECK_PREFIXES) and rng.random() < 0.3:
        check = "card"
    hold = check is None and rng.random() < 0.22
    failed = check == "identity" and rng.random() < 0.15
    follow = rng.choices(["second", "clarify", "thanks", "none"], weights=[37, 27, 24, 12])[0]
    if main == "general.need_more_info":
        follow = "specific"
    closing = rng.random() < 0.8

    def length() -> int:
        n = 2 + (2 if opener == "hello" else 1 if opener == "greet" else 0)
        n += 2 if check else 0
        n += 2 if hold else 0
        n += 0 if failed else {"second": 2, "clarify": 2, "specific": 2, "thanks": 1}.get(follow, 0)
        return n + (1 if closing else 0)

    for drop in ("hold", "opener", "check", "closing"):
        if length() <= MAX_TURNS:
            break
        if drop == "hold":
            hold = False
        elif drop == "opener":
            opener = "greet"
        elif drop == "check":
            check, failed = None, False
        else:
            closing = False

    # Opening.
    if opener == "hello":
        if greeting == "greeting.returning":
            conv.customer(rng.choice(CUSTOMER_HELLOS_RETURNING))
        elif greeting == "greeting.wait_apology":
            conv.customer(rng.choice(CUSTOMER_HELLOS_WAITED))
        else:
            conv.customer(rng.choice(CUSTOMER_HELLOS))
    if opener != "none":
        conv.agent_template(greeting)

    # The issue.
    conv.prepare(main)
    conv.customer(_issue_text(rng, main))
    if check == "identity":
        conv.agent_template("verification.identity_check")
        conv.customer(rng.choice(IDENTITY_REPLIES))
        if failed:
            conv.agent_template("verification.failed")
            if closing:
                conv.agent_template("closing.standard")
            return conv.to_dict()
    elif check == "card":
        conv.agent_template("verification.card_last4")
        conv.customer(rng.choice(CARD_CHECK_REPLIES))
    if hold:
        conv.agent_free(rng.choice(AGENT_HOLDS))
        conv.customer(rng.choice(CUSTOMER_ACKS))
    conv.agent_template(main)

    # Follow-up.
    second = None
    if follow in ("second", "specific"):
        related = RELATED.get(main, [])
        if follow == "second" and related and rng.random() < 0.6:
            second = rng.choice(related)
        else:
            second = rng.choice([k for k in keys if k not in (main, "general.need_more_info")])
        conv.prepare(second, fresh=True)
        text = _issue_text(rng, second)
        if follow == "second":
            prefix = rng.choice(SECOND_ISSUE_PREFIXES)
            if prefix and prefix[-2] not in ".:" and text[1:2].islower():
                text = text[0].lower() + text[1:]
            text = prefix + text
        conv.customer(text)
        conv.agent_template(second)
    elif follow == "clarify":
        category = main.split(".")[0]
        question, answers, _ = rng.choice(
            [c for c in CLARIFICATIONS if not c[2] or category in c[2]]
        )
        conv.customer(question)
        conv.agent_free(rng.choice(answers))
    elif follow == "thanks":
        conv.customer(rng.choice(CUSTOMER_THANKS))

    # Closing.
    if closing:
        categories = {main.split(".")[0]} | ({second.split(".")[0]} if second else set())
        if follow == "thanks":
            weights = [30, 50, 0, 20]
        elif categories & REFERENCE_CATEGORIES or conv.channel == "email":
            weights = [35, 15, 35, 15]
        else:
            weights = [55, 15, 10, 20]
        conv.agent_template(
            rng.choices(
                [
                    "closing.standard",
                    "closing.resolved",
                    "closing.follow_up_email",
                    "closing.survey",
                ],
                weights=weights,
            )[0]
        )
    return conv.to_dict()


def generate_conversations(
    n: int, *, seed: int = 0, catalog_path: Path | None = None
) -> list[dict[str, Any]]:
    """Return ``n`` synthetic conversations in the interchange format, deterministic per seed."""
    if n < 0:
        raise ValueError("n must not be negative")
    bodies = {row["key"]: row["body"] for row in load_catalog(catalog_path)}
    needed = set(SCENARIOS) | {
        "verification.identity_check",
        "verification.card_last4",
        "verification.failed",
        "greeting.standard",
        "greeting.returning",
        "greeting.wait_apology",
        "greeting.formal",
        "closing.standard",
        "closing.resolved",
        "closing.follow_up_email",
        "closing.survey",
    }
    for related in RELATED.values():
        needed.update(related)
    missing = sorted(needed - bodies.keys())
    if missing:
        raise ValueError(f"catalog lacks templates used by the generator: {', '.join(missing)}")
    rng = random.Random(seed)
    keys = list(SCENARIOS)
    return [_build(rng, bodies, keys, i + 1) for i in range(n)]


def write_jsonl(conversations: Iterable[dict[str, Any]], path: Path | str) -> int:
    """Write one conversation per line (UTF-8 JSON); return how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for conversation in conversations:
            fh.write(json.dumps(conversation, ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate demo support conversations (JSONL).")
    parser.add_argument("--n", type=int, default=300, help="number of conversations (300)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--out", default="-", help="output .jsonl file, or - for stdout")
    parser.add_argument("--catalog", type=Path, default=None, help="catalog CSV to use")
    args = parser.parse_args(argv)
    conversations = generate_conversations(args.n, seed=args.seed, catalog_path=args.catalog)
    if args.out == "-":
        for conversation in conversations:
            sys.stdout.write(json.dumps(conversation, ensure_ascii=False) + "\n")
    else:
        count = write_jsonl(conversations, args.out)
        print(f"wrote {count} conversations to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
