"""The conversation's language: detection, overrides (REST and the panel's frame), and the
suggestions in that language, with the key's own text marked where a variant is missing."""

import io

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.urls import reverse

from assist.languages import detect_language
from assist.live.events import conversation_group
from assist.live.selectors import latest_suggestion, suggestion_frame
from assist.live.suggestions import suggestion_create
from assist.models import Conversation
from assist.tokens import token_issue
from templates_app.models import ResponseTemplate, TemplateVariant
from templates_app.variants import variant_save
from tests import factories
from tests.tiny_models import DEMO_CATALOG

EN = [
    "My card has not arrived yet and I ordered it two weeks ago.",
    "I was charged twice for the same purchase yesterday.",
    "How do I reset my online banking password?",
    "Can you tell me why my transfer is still pending?",
    "I think someone else used my card without permission.",
    "Please close my account, I no longer need it.",
    "The app keeps crashing when I try to log in.",
    "What is the exchange rate for a payment in euros?",
    "I would like to change the address on my account.",
    "Why was my payment declined at the supermarket?",
    "I lost my wallet this morning with my card in it.",
    "How long does a refund usually take to show up?",
    "Could you increase the limit on my credit card?",
    "I need a statement for the last three months.",
    "The cash machine kept my card, what should I do?",
    "Is there a fee for withdrawing money abroad?",
    "I forgot my PIN and cannot use my card now.",
    "My salary has not been credited to my account today.",
    "Can I get a new card with a different design?",
    "The direct debit was taken twice this month.",
    "I want to dispute a transaction I do not recognise.",
    "Where can I find my account number and sort code?",
    "Thanks, that solved my problem, have a nice day.",
    "I received a suspicious text message asking for my details.",
    "How do I add my card to my phone wallet?",
    "The verification code never arrives on my phone.",
    "I'd like to know the status of my loan application.",
    "Can you cancel the standing order I set up last week?",
    "My account has been blocked and I don't know why.",
    "Is it possible to pay my bill in instalments?",
]
ES = [
    "Mi tarjeta todavía no ha llegado y la pedí hace dos semanas.",
    "Me han cobrado dos veces la misma compra ayer.",
    "¿Cómo puedo restablecer la contraseña de la banca en línea?",
    "¿Por qué mi transferencia sigue pendiente?",
    "Creo que alguien ha usado mi tarjeta sin permiso.",
    "Por favor, cierren mi cuenta, ya no la necesito.",
    "La aplicación se cierra cada vez que intento entrar.",
    "¿Cuál es el tipo de cambio para un pago en dólares?",
    "Quisiera cambiar la dirección de mi cuenta.",
    "¿Por qué rechazaron mi pago en el supermercado?",
    "Esta mañana perdí la cartera con la tarjeta dentro.",
    "¿Cuánto tarda normalmente en aparecer un reembolso?",
    "¿Podrían aumentar el límite de mi tarjeta de crédito?",
    "Necesito un extracto de los últimos tres meses.",
    "El cajero se ha quedado con mi tarjeta, ¿qué hago?",
    "¿Hay alguna comisión por sacar dinero en el extranjero?",
    "Olvidé mi PIN y ahora no puedo usar la tarjeta.",
    "Hoy no me han ingresado la nómina en la cuenta.",
    "¿Puedo pedir una tarjeta nueva con otro diseño?",
    "Este mes me han cargado el recibo dos veces.",
    "Quiero reclamar un cargo que no reconozco.",
    "¿Dónde encuentro mi número de cuenta?",
    "Gracias, eso ha resuelto mi problema, que tenga un buen día.",
    "He recibido un mensaje sospechoso que me pide mis datos.",
    "¿Cómo añado mi tarjeta a la cartera del móvil?",
    "El código de verificación nunca llega a mi teléfono.",
    "Me gustaría saber cómo va mi solicitud de préstamo.",
    "¿Pueden cancelar la transferencia periódica que programé la semana pasada?",
    "Me han bloqueado la cuenta y no sé por qué.",
    "¿Es posible pagar la factura a plazos?",
]
DE = [
    "Meine Karte ist noch nicht angekommen, obwohl ich sie vor zwei Wochen bestellt habe.",
    "Mir wurde gestern derselbe Einkauf zweimal abgebucht.",
    "Wie kann ich mein Passwort für das Onlinebanking zurücksetzen?",
    "Warum ist meine Überweisung immer noch ausstehend?",
    "Ich glaube, jemand hat meine Karte ohne Erlaubnis benutzt.",
    "Bitte schließen Sie mein Konto, ich brauche es nicht mehr.",
    "Die App stürzt jedes Mal ab, wenn ich mich anmelden will.",
    "Wie ist der Wechselkurs für eine Zahlung in Dollar?",
    "Ich möchte die Adresse in meinem Konto ändern.",
    "Warum wurde meine Zahlung im Supermarkt abgelehnt?",
    "Ich habe heute Morgen meine Geldbörse mit der Karte verloren.",
    "Wie lange dauert es normalerweise, bis eine Erstattung erscheint?",
    "Können Sie das Limit meiner Kreditkarte erhöhen?",
    "Ich brauche einen Kontoauszug für die letzten drei Monate.",
    "Der Geldautomat hat meine Karte eingezogen, was soll ich tun?",
    "Gibt es eine Gebühr für Abhebungen im Ausland?",
    "Ich habe meine PIN vergessen und kann die Karte nicht benutzen.",
    "Mein Gehalt ist heute nicht auf meinem Konto eingegangen.",
    "Kann ich eine neue Karte mit einem anderen Design bekommen?",
    "Die Lastschrift wurde diesen Monat zweimal eingezogen.",
    "Ich möchte eine Buchung reklamieren, die ich nicht kenne.",
    "Wo finde ich meine Kontonummer und die IBAN?",
    "Danke, das hat mein Problem gelöst, schönen Tag noch.",
    "Ich habe eine verdächtige Nachricht bekommen, die nach meinen Daten fragt.",
    "Wie füge ich meine Karte zur Wallet auf dem Handy hinzu?",
    "Der Bestätigungscode kommt nie auf meinem Telefon an.",
    "Ich würde gern wissen, wie es um meinen Kreditantrag steht.",
    "Können Sie den Dauerauftrag stornieren, den ich letzte Woche eingerichtet habe?",
    "Mein Konto wurde gesperrt und ich weiß nicht warum.",
    "Ist es möglich, die Rechnung in Raten zu bezahlen?",
]
UNDECIDED = ["hi", "ok", "hola", "Hallo", "thx", "???", "1234 5678", ":)"]


@pytest.mark.parametrize(("code", "sentences"), [("en", EN), ("es", ES), ("de", DE)])
def test_the_identifier_is_never_wrong_on_fixed_sentences_and_rarely_undecided(code, sentences):
    detected = [detect_language([sentence]) for sentence in sentences]
    wrong = [(s, d) for s, d in zip(sentences, detected, strict=True) if d not in (code, None)]
    assert wrong == []
    assert sum(d == code for d in detected) >= 0.9 * len(sentences)


@pytest.mark.parametrize("text", UNDECIDED)
def test_a_short_message_leaves_the_language_undecided(text):
    assert detect_language([text]) is None


def test_messages_together_decide_what_one_short_message_cannot():
    assert detect_language(["hola"]) is None
    assert detect_language(["hola", "mi tarjeta no ha llegado todavía"]) == "es"


# --- serving --------------------------------------------------------------------------------


@pytest.fixture
def serving(demo_ranker_dir, settings):
    settings.RANKER_DIR = demo_ranker_dir
    settings.RANKER_BACKEND = "fp32"
    settings.SUGGEST_EXCLUDE_SENT = False
    settings.EXTERNAL_RERANK_URL = ""
    settings.RANKER_LANGUAGES = ["en"]
    call_command("import_catalog", DEMO_CATALOG, stdout=io.StringIO())


def spanish_for_every_key_but(missing: set[str]) -> None:
    for template in ResponseTemplate.objects.exclude(key__in=missing):
        variant_save(
            template=template,
            locale="es",
            title=f"ES {template.title}",
            body="Hola {customer_first_name}, " + template.key,
        )


def pushed_frame(conversation, send, on_commit) -> dict:
    """The frame the worker pushes to the conversation's group while `send` runs."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(conversation_group(conversation.pk), channel)
    with on_commit(execute=True):
        send()
    event = async_to_sync(layer.receive)(channel)
    assert event["type"] == "assist.suggestions"
    return event["frame"]


@pytest.mark.django_db
def test_a_spanish_conversation_gets_spanish_variants_and_marked_fallbacks(
    serving, django_capture_on_commit_callbacks
):
    conversation = factories.ConversationFactory(customer_name="Lucía Gómez")
    spanish_for_every_key_but({"greeting.standard"})
    message = factories.MessageFactory(
        conversation=conversation,
        text="Hola, mi tarjeta todavía no ha llegado, la pedí hace dos semanas.",
    )
    frame = pushed_frame(
        conversation,
        lambda: suggestion_create(message_id=message.pk),
        django_capture_on_commit_callbacks,
    )
    conversation.refresh_from_db()
    assert (conversation.language, conversation.language_source) == ("es", "detected")
    # The English demo model: the panel says the conversation is outside its languages.
    assert frame["language"] == {"code": "es", "source": "detected", "in_model": False}
    assert frame["items"]
    for item in frame["items"]:
        assert (item["locale"], item["fallback"]) == ("es", False)
        assert item["title"] == "ES " + ResponseTemplate.objects.get(key=item["key"]).title
        # Placeholders fill the same in every variant.
        assert item["body"] == f"Hola Lucía, {item['key']}"

    # A key without a Spanish text: its own (English) text, marked as the fallback.
    second = frame["items"][1]["key"]
    TemplateVariant.objects.filter(template__key=second).delete()
    again = suggestion_frame(latest_suggestion(conversation))
    shown = {item["key"]: item for item in again["items"]}
    assert (shown[second]["locale"], shown[second]["fallback"]) == ("en", True)
    assert shown[second]["title"] == ResponseTemplate.objects.get(key=second).title
    others = [item for key, item in shown.items() if key != second]
    assert all(item["fallback"] is False and item["locale"] == "es" for item in others)


@pytest.mark.django_db
def test_an_english_conversation_gets_the_keys_own_texts(serving):
    spanish_for_every_key_but(set())
    conversation = factories.ConversationFactory()
    message = factories.MessageFactory(
        conversation=conversation, text="My card has not arrived yet, it was ordered two weeks ago."
    )
    suggestion = suggestion_create(message_id=message.pk)
    conversation.refresh_from_db()
    assert conversation.language == "en"
    suggestion.conversation = conversation
    frame = suggestion_frame(suggestion)
    assert frame["language"]["in_model"] is True
    assert all((item["locale"], item["fallback"]) == ("en", False) for item in frame["items"])
    assert not any(item["title"].startswith("ES ") for item in frame["items"])


@pytest.mark.django_db
def test_a_short_first_message_leaves_the_language_undecided(serving):
    conversation = factories.ConversationFactory()
    suggestion_create(message_id=factories.MessageFactory(conversation=conversation, text="hi").pk)
    conversation.refresh_from_db()
    assert (conversation.language, conversation.language_source) == ("", "")


# --- overrides ------------------------------------------------------------------------------


def token_client(user):
    from django.test import Client

    return Client(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")


@pytest.mark.django_db
def test_the_helpdesk_sets_the_language_over_rest_and_detection_never_replaces_it(
    serving, agent_user
):
    client = token_client(agent_user)
    opened = client.post(
        reverse("api-conversations"),
        {"external_id": "tkt-es", "customer_name": "Jo", "language": "de"},
        "application/json",
    )
    assert opened.status_code == 201
    assert (opened.json()["language"], opened.json()["language_source"]) == ("de", "helpdesk")
    conversation = Conversation.objects.get(external_id="tkt-es")

    url = reverse("api-conversation", args=[conversation.pk])
    changed = client.patch(url, {"language": "es"}, "application/json")
    assert changed.status_code == 200
    assert (changed.json()["language"], changed.json()["language_source"]) == ("es", "helpdesk")

    # The customer writes English: the helpdesk's word stands.
    message = factories.MessageFactory(
        conversation=conversation, text="My card has not arrived yet, it was ordered two weeks ago."
    )
    suggestion_create(message_id=message.pk)
    conversation.refresh_from_db()
    assert (conversation.language, conversation.language_source) == ("es", "helpdesk")

    # Blank hands the choice back to detection, which decides on the next message.
    assert client.patch(url, {"language": ""}, "application/json").json()["language"] == ""
    message = factories.MessageFactory(
        conversation=conversation, text="I was charged twice for the same purchase yesterday."
    )
    suggestion_create(message_id=message.pk)
    conversation.refresh_from_db()
    assert (conversation.language, conversation.language_source) == ("en", "detected")


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["Spanish!", "e", "x" * 17])
def test_a_bad_language_is_refused_and_changes_nothing(agent_user, language):
    conversation = factories.ConversationFactory(
        assigned_agent=agent_user, language="es", language_source="helpdesk"
    )
    response = token_client(agent_user).patch(
        reverse("api-conversation", args=[conversation.pk]),
        {"language": language},
        "application/json",
    )
    assert response.status_code in (400, 413)
    conversation.refresh_from_db()
    assert (conversation.language, conversation.language_source) == ("es", "helpdesk")


@pytest.mark.django_db
def test_another_agents_conversation_language_is_not_theirs_to_set(agent_user, other_agent):
    conversation = factories.ConversationFactory(assigned_agent=other_agent)
    response = token_client(agent_user).patch(
        reverse("api-conversation", args=[conversation.pk]), {"language": "es"}, "application/json"
    )
    assert response.status_code in (403, 404)
    conversation.refresh_from_db()
    assert conversation.language == ""


# --- demo -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_helpdesk_starts_a_spanish_speaking_customer(agent_user, settings):
    from tests.conftest import client_for

    settings.DEMO_HELPDESK = True
    response = client_for(agent_user).post(reverse("demo-helpdesk-new"), {"language": "es"})
    assert response.status_code == 302
    conversation = Conversation.objects.get(channel="demo", assigned_agent=agent_user)
    (message,) = conversation.messages.all()
    assert message.role == "customer"
    assert detect_language([message.text]) == "es"


@pytest.mark.django_db
def test_review_shows_the_conversation_s_language_and_who_set_it(supervisor_user):
    from tests.conftest import client_for

    conversation = factories.ConversationFactory(language="es", language_source="agent")
    page = client_for(supervisor_user).get(reverse("review:conversation", args=[conversation.pk]))
    assert "language <code>es</code> (agent)" in page.content.decode()
