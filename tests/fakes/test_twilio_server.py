"""The official twilio library, httpx and RequestValidator against FakeTwilio: the fake must
behave like Twilio's Messaging API, its webhooks and its media URLs."""

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import httpx
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from .twilio_server import FakeTwilio, compute_signature

USER = "whatsapp:+6281234567890"
OTHER_USER = "whatsapp:+6281298765432"
SMS_USER = "+6281311112222"
TEMPLATE = "HX" + "ab" * 16
SERVICE = "MG" + "cd" * 16
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


@dataclass
class Received:
    """One request the application side got."""

    path: str
    headers: dict[str, str]
    params: dict[str, str]


class Receiver:
    """The application's webhook endpoints: records each POST and answers empty TwiML."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                receiver.requests.append(
                    Received(
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        params=dict(parse_qsl(body, keep_blank_values=True)),
                    )
                )
                answer = b"<?xml version='1.0' encoding='UTF-8'?><Response/>"
                self.send_response(receiver.status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture
def clock():
    """A clock the test moves by hand: ``clock.now`` is what the fake sees."""

    class Clock:
        now = START

        def __call__(self) -> datetime:
            return self.now

        def advance(self, **delta: float) -> None:
            self.now += timedelta(**delta)

    return Clock()


@pytest.fixture
def twilio(clock):
    with FakeTwilio(clock=clock) as fake:
        yield fake
    assert not [t for t in threading.enumerate() if t.name.startswith("fake-twilio")]


@pytest.fixture
def app():
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
    thread.join(5)


def validator(twilio: FakeTwilio) -> RequestValidator:
    return RequestValidator(twilio.auth_token)


# --------------------------------------------------------------------------- sending


def test_the_library_sends_through_the_fake(twilio, clock):
    twilio.user_writes(USER)
    message = twilio.client().messages.create(
        to=USER,
        from_=twilio.whatsapp_number,
        body="Berita sudah terbit ✅",
        media_url=["https://warta.example.org/a.jpg", "https://warta.example.org/b.jpg"],
        status_callback="https://warta.example.org/twilio/status",
    )

    assert re.fullmatch(r"MM[0-9a-f]{32}", message.sid)  # MM: it carries media
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == (
        USER,
        twilio.whatsapp_number,
        "Berita sudah terbit ✅",
    )
    assert message.num_media == "2"
    assert message.error_code is None
    assert message.direction == "outbound-api"
    assert message.date_created == START
    assert message.uri == f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/{message.sid}.json"

    (sent,) = twilio.sent
    assert sent["http_status"] == 201
    assert sent["sid"] == message.sid
    assert sent["time"] == START
    assert sent["media_urls"] == [
        "https://warta.example.org/a.jpg",
        "https://warta.example.org/b.jpg",
    ]
    assert sent["status_callback"] == "https://warta.example.org/twilio/status"
    assert sent["body"] == "Berita sudah terbit ✅"


def test_a_plain_sms_has_an_sm_sid_and_counts_segments(twilio):
    message = twilio.client().messages.create(to=SMS_USER, from_=twilio.sms_number, body="a" * 161)
    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.num_segments == "2"  # 161 GSM-7 characters: 153 + 8


def test_messages_can_be_fetched_and_listed(twilio):
    client = twilio.client()
    first = client.messages.create(to=SMS_USER, from_=twilio.sms_number, body="satu")
    second = client.messages.create(to=SMS_USER, from_=twilio.sms_number, body="dua")

    assert client.messages(first.sid).fetch().body == "satu"
    assert [m.sid for m in client.messages.list()] == [second.sid, first.sid]  # newest first


def test_wrong_credentials_get_twilio_s_401(twilio):
    with pytest.raises(TwilioRestException) as raised:
        twilio.client(auth_token="not-the-token").messages.create(
            to=SMS_USER, from_=twilio.sms_number, body="halo"
        )
    assert (raised.value.status, raised.value.code) == (401, 20003)

    answer = httpx.post(
        f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
        data={"To": SMS_USER, "From": twilio.sms_number, "Body": "halo"},
    )
    assert answer.status_code == 401
    assert answer.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert [s["http_status"] for s in twilio.sent] == [401, 401]  # refused, still recorded
    assert [s["sid"] for s in twilio.sent] == [None, None]


def test_unknown_resources_get_20404(twilio):
    with pytest.raises(TwilioRestException) as raised:
        twilio.client().messages("SM" + "0" * 32).fetch()
    assert (raised.value.status, raised.value.code) == (404, 20404)

    answer = httpx.get(
        f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Calls.json",
        auth=(twilio.account_sid, twilio.auth_token),
    )
    assert answer.status_code == 404
    assert answer.json()["more_info"] == "https://www.twilio.com/docs/errors/20404"


def test_a_body_over_1600_characters_is_refused_with_21617(twilio):
    client = twilio.client()
    client.messages.create(to=SMS_USER, from_=twilio.sms_number, body="x" * 1600)
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=SMS_USER, from_=twilio.sms_number, body="x" * 1601)
    assert (raised.value.status, raised.value.code) == (400, 21617)
    assert twilio.sent[-1]["error_code"] == 21617
    assert len(twilio.messages) == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": "whatsapp:0812", "body": "x"}, 21211),
        ({"to": "not a number", "body": "x"}, 21211),
        ({"to": USER}, 21602),
        ({"to": USER, "from_": "whatsapp:+15550001111", "body": "x"}, 63007),
        ({"to": USER, "from_": "+15005550006", "body": "x"}, 21910),
        ({"to": USER, "content_sid": "HX123"}, 21655),
        ({"to": USER, "content_sid": TEMPLATE, "content_variables": "{not json"}, 21656),
        ({"to": USER, "content_variables": '{"1": "x"}', "body": "x"}, 21654),
        ({"to": USER, "body": "x", "status_callback": "http://bad_host/cb"}, 21609),
    ],
)
def test_invalid_requests_get_twilio_s_codes(twilio, fields, code):
    fields.setdefault("from_", twilio.whatsapp_number)
    twilio.user_writes(USER)
    with pytest.raises(TwilioRestException) as raised:
        twilio.client().messages.create(**fields)
    assert (raised.value.status, raised.value.code) == (400, code)


def test_unsubscribed_recipients_get_21610(twilio, app):
    twilio.inbound(app.url("/twilio/sms"), from_=SMS_USER, body="STOP")
    client = twilio.client()
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(to=SMS_USER, from_=twilio.sms_number, body="halo")
    assert raised.value.code == 21610

    twilio.opt_in(SMS_USER)
    client.messages.create(to=SMS_USER, from_=twilio.sms_number, body="halo")


# --------------------------------------------------------------------------- the 24-hour window


def test_free_form_inside_the_window_is_delivered(twilio, app, clock):
    twilio.user_writes(USER)
    clock.advance(hours=23, minutes=59)
    message = twilio.client().messages.create(
        to=USER,
        from_=twilio.whatsapp_number,
        body="Draf Anda diterima.",
        status_callback=app.url("/twilio/status"),
    )
    deliveries = twilio.deliver_callbacks()

    assert [d.status for d in deliveries] == ["sent", "delivered"]
    assert [r.params["MessageStatus"] for r in app.requests] == ["sent", "delivered"]
    assert all("ErrorCode" not in r.params for r in app.requests)
    assert twilio.message(message.sid)["status"] == "delivered"


def test_free_form_outside_the_window_is_accepted_then_fails_with_63016(twilio, app, clock):
    twilio.user_writes(USER)
    clock.advance(hours=24)
    client = twilio.client()
    message = client.messages.create(
        to=USER,
        from_=twilio.whatsapp_number,
        body="Tenggat besok pagi.",
        status_callback=app.url("/twilio/status"),
    )
    assert message.status == "queued"  # the API call itself succeeds
    assert twilio.sent[-1]["http_status"] == 201

    (delivery,) = twilio.deliver_callbacks()
    assert (delivery.status, delivery.error_code, delivery.status_code) == ("failed", 63016, 200)
    (callback,) = app.requests
    assert callback.params["MessageStatus"] == "failed"
    assert callback.params["ErrorCode"] == "63016"
    assert callback.params["ChannelPrefix"] == "whatsapp"

    fetched = client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("failed", 63016)


def test_a_number_that_never_wrote_is_outside_the_window(twilio, app):
    twilio.client().messages.create(
        to=OTHER_USER,
        from_=twilio.whatsapp_number,
        body="Halo",
        status_callback=app.url("/twilio/status"),
    )
    assert [d.error_code for d in twilio.deliver_callbacks()] == [63016]


def test_an_approved_template_is_delivered_outside_the_window(twilio, app, clock):
    twilio.add_template(TEMPLATE, "Halo {{1}}, tenggat {{2}}.")
    clock.advance(days=3)
    message = twilio.client().messages.create(
        to=USER,
        from_=twilio.whatsapp_number,
        content_sid=TEMPLATE,
        content_variables='{"1": "Ayu", "2": "16.00"}',
        status_callback=app.url("/twilio/status"),
    )
    assert message.body == "Halo Ayu, tenggat 16.00."
    assert twilio.sent[-1]["content_variables"] == {"1": "Ayu", "2": "16.00"}
    assert [d.status for d in twilio.deliver_callbacks()] == ["sent", "delivered"]


def test_the_window_can_refuse_synchronously(clock):
    with FakeTwilio(clock=clock, reject_outside_window=True) as twilio:
        with pytest.raises(TwilioRestException) as raised:
            twilio.client().messages.create(to=USER, from_=twilio.whatsapp_number, body="Halo")
        assert (raised.value.status, raised.value.code) == (400, 63016)
        assert twilio.messages == []


def test_an_inbound_message_opens_the_window(twilio, app, clock):
    clock.advance(days=10)
    assert not twilio.window_open(USER)
    twilio.inbound(app.url("/twilio/whatsapp"), from_=USER, body="Halo")
    assert twilio.window_open(USER)
    clock.advance(hours=24)
    assert not twilio.window_open(USER)


# --------------------------------------------------------------------------- status callbacks


def test_status_callbacks_are_signed_like_twilio(twilio, app):
    twilio.user_writes(USER)
    callback_url = app.url("/twilio/status?story=42")
    twilio.client().messages.create(
        to=USER, from_=twilio.whatsapp_number, body="Halo", status_callback=callback_url
    )
    assert app.requests == []  # nothing happens until the test says so
    twilio.deliver_callbacks()

    check = validator(twilio)
    for received in app.requests:
        assert received.headers["content-type"] == "application/x-www-form-urlencoded"
        assert check.validate(callback_url, received.params, received.headers["x-twilio-signature"])
        assert not check.validate(
            app.url("/twilio/status"), received.params, received.headers["x-twilio-signature"]
        )
    assert {
        "AccountSid",
        "ApiVersion",
        "From",
        "To",
        "MessageSid",
        "MessageStatus",
        "SmsSid",
        "SmsStatus",
    } <= app.requests[0].params.keys()


def test_status_callbacks_can_arrive_out_of_order(twilio, app):
    twilio.user_writes(USER)
    client = twilio.client()
    message = client.messages.create(
        to=USER,
        from_=twilio.whatsapp_number,
        body="Halo",
        status_callback=app.url("/twilio/status"),
    )
    twilio.deliver_callbacks(order="reversed")

    assert [r.params["MessageStatus"] for r in app.requests] == ["delivered", "sent"]
    check = validator(twilio)
    assert all(
        check.validate(app.url("/twilio/status"), r.params, r.headers["x-twilio-signature"])
        for r in app.requests
    )
    assert client.messages(message.sid).fetch().status == "delivered"  # the furthest reached


def test_callbacks_for_one_message_only(twilio, app):
    twilio.user_writes(USER)
    twilio.user_writes(OTHER_USER)
    client = twilio.client()
    first, second = (
        client.messages.create(
            to=to, from_=twilio.whatsapp_number, body="Halo", status_callback=app.url("/s")
        )
        for to in (USER, OTHER_USER)
    )
    twilio.deliver_callbacks(message_sid=second.sid)
    assert {r.params["MessageSid"] for r in app.requests} == {second.sid}
    assert twilio.pending_callbacks == [(first.sid, "sent"), (first.sid, "delivered")]


def test_a_messaging_service_message_starts_accepted_and_reports_queued(twilio, app):
    twilio.user_writes(USER)
    message = twilio.client().messages.create(
        to=USER, messaging_service_sid=SERVICE, body="Halo", status_callback=app.url("/s")
    )
    assert (message.status, message.from_) == ("accepted", None)
    twilio.deliver_callbacks()
    assert [r.params["MessageStatus"] for r in app.requests] == ["queued", "sent", "delivered"]
    assert app.requests[0].params["MessagingServiceSid"] == SERVICE
    assert app.requests[0].params["From"] == twilio.whatsapp_number


def test_a_delivery_can_fail_with_an_error_code(twilio, app):
    twilio.user_writes(USER)
    twilio.fail_delivery(USER, status="undelivered", error_code=63024)
    twilio.client().messages.create(
        to=USER, from_=twilio.whatsapp_number, body="Halo", status_callback=app.url("/s")
    )
    twilio.deliver_callbacks()
    assert [(r.params["MessageStatus"], r.params.get("ErrorCode")) for r in app.requests] == [
        ("sent", None),
        ("undelivered", "63024"),
    ]


def test_messages_sent_from_another_thread_are_waited_for(twilio):
    twilio.user_writes(USER)
    client = twilio.client()
    worker = threading.Thread(
        target=lambda: client.messages.create(
            to=USER, from_=twilio.whatsapp_number, body="dari latar belakang"
        )
    )
    worker.start()
    twilio.wait_until(lambda: any(s["http_status"] == 201 for s in twilio.sent))
    worker.join(5)
    assert twilio.sent[0]["body"] == "dari latar belakang"


@pytest.mark.asyncio
async def test_callbacks_can_be_delivered_from_async_tests(twilio, app):
    twilio.user_writes(USER)
    twilio.client().messages.create(
        to=USER, from_=twilio.whatsapp_number, body="Halo", status_callback=app.url("/s")
    )
    deliveries = await twilio.deliver_callbacks_async()
    assert [d.status_code for d in deliveries] == [200, 200]


# --------------------------------------------------------------------------- inbound webhooks


def test_inbound_webhooks_look_like_twilio_s_and_are_signed_over_the_public_url(twilio, app):
    public_url = "https://warta.example.org/twilio/whatsapp"
    result = twilio.inbound(
        app.url("/twilio/whatsapp"),
        from_=USER,
        body="Ada kebakaran di pasar",
        profile_name="Ayu",
        public_url=public_url,
    )

    assert result.status_code == 200
    assert "<Response/>" in result.text
    (received,) = app.requests
    params = received.params
    assert re.fullmatch(r"SM[0-9a-f]{32}", params["MessageSid"])
    assert params["AccountSid"] == twilio.account_sid
    assert (params["From"], params["To"]) == (USER, twilio.whatsapp_number)
    assert (params["Body"], params["NumMedia"]) == ("Ada kebakaran di pasar", "0")
    assert (params["ProfileName"], params["WaId"]) == ("Ayu", "6281234567890")
    assert params["SmsStatus"] == "received"

    signature = received.headers["x-twilio-signature"]
    check = validator(twilio)
    assert check.validate(public_url, params, signature)
    assert not check.validate(app.url("/twilio/whatsapp"), params, signature)  # behind a proxy
    assert signature == compute_signature(twilio.auth_token, public_url, list(params.items()))


def test_forwarded_public_urls_reach_the_local_server(twilio, app):
    twilio.forward("https://warta.example.org", app.base_url)
    result = twilio.inbound("https://warta.example.org/twilio/whatsapp", from_=USER, body="Hi")
    assert result.url == app.url("/twilio/whatsapp")
    (received,) = app.requests
    assert validator(twilio).validate(
        "https://warta.example.org/twilio/whatsapp",
        received.params,
        received.headers["x-twilio-signature"],
    )


@pytest.mark.parametrize("signature", ["bad", "missing"])
def test_tampered_or_missing_signatures(twilio, app, signature):
    twilio.inbound(app.url("/in"), from_=USER, body="Halo", signature=signature)
    (received,) = app.requests
    sent = received.headers.get("x-twilio-signature")
    if signature == "missing":
        assert sent is None
    else:
        assert not validator(twilio).validate(app.url("/in"), received.params, sent)


def test_a_webhook_can_be_redelivered(twilio, app):
    app.status = 502  # the application was down
    first = twilio.inbound(app.url("/in"), from_=USER, body="Halo")
    app.status = 200
    again = twilio.redeliver(first)

    assert (first.status_code, again.status_code) == (502, 200)
    one, two = app.requests
    assert one.params == two.params
    assert one.params["MessageSid"] == first.message_sid
    assert one.headers["i-twilio-idempotency-token"] == two.headers["i-twilio-idempotency-token"]
    assert one.headers["x-twilio-signature"] == two.headers["x-twilio-signature"]

    edited = twilio.inbound(app.url("/in"), from_=USER, body="Halo!", message_sid=first.message_sid)
    assert edited.message_sid == first.message_sid
    assert validator(twilio).validate(
        app.url("/in"), app.requests[-1].params, app.requests[-1].headers["x-twilio-signature"]
    )


@pytest.mark.asyncio
async def test_inbound_from_async_tests(twilio, app):
    result = await twilio.inbound_async(app.url("/in"), from_=USER, body="Halo")
    again = await twilio.redeliver_async(result)
    assert (result.status_code, again.status_code) == (200, 200)


# --------------------------------------------------------------------------- media


def inbound_with_photo(twilio: FakeTwilio, app: Receiver) -> dict[str, str]:
    twilio.inbound(
        app.url("/in"),
        from_=USER,
        body="Foto kejadian",
        media=[(b"\xff\xd8jpeg-bytes", "image/jpeg"), (b"%PDF-1.7", "application/pdf")],
    )
    return app.requests[-1].params


def test_inbound_media_is_announced_like_twilio_does(twilio, app):
    params = inbound_with_photo(twilio, app)
    assert re.fullmatch(r"MM[0-9a-f]{32}", params["MessageSid"])
    assert params["NumMedia"] == "2"
    assert params["MediaContentType0"] == "image/jpeg"
    assert params["MediaContentType1"] == "application/pdf"
    assert params["MessageType"] == "image"
    assert re.fullmatch(
        rf"{re.escape(twilio.base_url)}/2010-04-01/Accounts/{twilio.account_sid}"
        rf"/Messages/{params['MessageSid']}/Media/ME[0-9a-f]{{32}}",
        params["MediaUrl0"],
    )


def test_media_needs_basic_auth(twilio, app):
    params = inbound_with_photo(twilio, app)
    answer = httpx.get(params["MediaUrl0"])
    assert answer.status_code == 401
    assert answer.json()["code"] == 20003
    wrong = httpx.get(params["MediaUrl0"], auth=(twilio.account_sid, "wrong"))
    assert wrong.status_code == 401
    assert [(r["stage"], r["http_status"]) for r in twilio.media_requests] == [
        ("api", 401),
        ("api", 401),
    ]


def test_credentials_do_not_follow_the_redirect_to_the_cdn(twilio, app):
    params = inbound_with_photo(twilio, app)
    with httpx.Client(
        auth=(twilio.account_sid, twilio.auth_token), follow_redirects=True, trust_env=False
    ) as http:
        photo = http.get(params["MediaUrl0"])
        document = http.get(params["MediaUrl1"])

    assert photo.status_code == 200
    assert photo.content == b"\xff\xd8jpeg-bytes"
    assert photo.headers["content-type"] == "image/jpeg"
    assert document.content == b"%PDF-1.7"
    assert photo.history[0].status_code == 307
    assert photo.url.host == "localhost"  # another host name than 127.0.0.1

    api, cdn = twilio.media_requests[:2]
    assert (api["stage"], api["authorization"], api["http_status"]) == ("api", True, 307)
    assert (cdn["stage"], cdn["authorization"], cdn["http_status"]) == ("cdn", False, 200)
    assert cdn["host"] == f"localhost:{twilio.cdn_port}"


def test_a_client_that_carries_credentials_across_hosts_is_caught(twilio, app):
    params = inbound_with_photo(twilio, app)
    credentials = httpx.BasicAuth(twilio.account_sid, twilio.auth_token)
    first = httpx.get(params["MediaUrl0"], auth=credentials)
    assert first.status_code == 307
    leaked = httpx.get(first.headers["location"], auth=credentials)  # the unsafe way

    assert leaked.status_code == 200
    assert twilio.media_requests[-1]["stage"] == "cdn"
    assert twilio.media_requests[-1]["authorization"] is True


def test_media_metadata_through_the_library(twilio, app):
    params = inbound_with_photo(twilio, app)
    media = twilio.client().messages(params["MessageSid"]).media.list()
    assert [m.content_type for m in media] == ["image/jpeg", "application/pdf"]
    assert media[0].parent_sid == params["MessageSid"]


# --------------------------------------------------------------------------- outages


def test_fail_next_simulates_an_outage_then_recovers(twilio):
    twilio.fail_next(status=503, times=2)
    client = twilio.client()
    for _ in range(2):
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=SMS_USER, from_=twilio.sms_number, body="Halo")
        assert (raised.value.status, raised.value.code) == (503, 20503)
    message = client.messages.create(to=SMS_USER, from_=twilio.sms_number, body="Halo")

    assert message.status == "queued"
    assert [s["http_status"] for s in twilio.sent] == [503, 503, 201]


def test_fail_next_429_says_when_to_retry(twilio):
    twilio.fail_next(status=429, retry_after=30)
    answer = httpx.post(
        f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json",
        data={"To": SMS_USER, "From": twilio.sms_number, "Body": "Halo"},
        auth=(twilio.account_sid, twilio.auth_token),
    )
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "30"
    assert answer.json() == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }


def test_fail_next_with_any_code(twilio):
    twilio.fail_next(status=500, code=20500, message="Internal Server Error")
    with pytest.raises(TwilioRestException) as raised:
        twilio.client().messages.create(to=SMS_USER, from_=twilio.sms_number, body="Halo")
    assert (raised.value.status, raised.value.code) == (500, 20500)


def test_while_down_everything_fails_and_callbacks_wait(twilio, app):
    twilio.user_writes(USER)
    client = twilio.client()
    client.messages.create(
        to=USER, from_=twilio.whatsapp_number, body="Halo", status_callback=app.url("/s")
    )
    params = inbound_with_photo(twilio, app)
    calls_before = len(app.requests)

    with twilio.down():
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=USER, from_=twilio.whatsapp_number, body="Halo lagi")
        assert (raised.value.status, raised.value.code) == (503, 20503)
        media = httpx.get(params["MediaUrl0"], auth=(twilio.account_sid, twilio.auth_token))
        assert media.status_code == 503
        assert twilio.deliver_callbacks() == []
        assert len(app.requests) == calls_before

    assert [d.status for d in twilio.deliver_callbacks()] == ["sent", "delivered"]
    assert client.messages.create(to=USER, from_=twilio.whatsapp_number, body="Pulih").sid


# --------------------------------------------------------------------------- pointing the library


def test_any_twilio_host_is_sent_to_the_fake(twilio):
    client = Client(
        twilio.account_sid,
        twilio.auth_token,
        http_client=twilio.http_client(),
        region="au1",
        edge="sydney",
    )
    message = client.messages.create(to=SMS_USER, from_=twilio.sms_number, body="Halo")
    assert message.status == "queued"
    assert twilio.requests[-1]["path"].endswith("/Messages.json")


@contextmanager
def _no_fake_threads() -> Iterator[None]:
    yield
    assert not [t for t in threading.enumerate() if t.name.startswith("fake-twilio")]


def test_the_fake_stops_cleanly(clock):
    with _no_fake_threads(), FakeTwilio(clock=clock) as twilio:
        assert twilio.internal_errors == []
