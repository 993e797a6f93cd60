"""The clinic behind the browser: its people (console accounts), what the pipeline tells them (staff
notices on the real topic), and what a person does with nothing but a keyboard."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from gateway.console.users import new_account
from schemas.numbers import canonical_number
from schemas.phi import PhiCipher, Pseudonymizer
from schemas.registry import SchemaRegistry, registry_from_url
from schemas.settings import Settings
from schemas.topics import BoundTopic, Catalog, ensure_topics
from stack.pipeline import Pipeline
from stack.screenshots import staff_notice, with_words

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Person:
    organization: str
    username: str
    password: str = PASSWORD
    role: str = "staff"


RECEPTION = Person("demo-clinic", "reception")
COLLEAGUE = Person("demo-clinic", "colleague")
OTHER_CLINIC = Person("other-clinic", "other-reception")
FORGETFUL = Person("demo-clinic", "forgetful")  # locks their own account; nobody else signs in as them
ADMIN = Person("demo-clinic", "clinic-admin", role="admin")
PEOPLE = (RECEPTION, COLLEAGUE, OTHER_CLINIC, FORGETFUL, ADMIN)


@dataclass
class Clinic:
    pipeline: Pipeline
    settings: Settings
    registry: SchemaRegistry
    catalog: Catalog

    @classmethod
    def of(cls, pipeline: Pipeline) -> Clinic:
        settings = Settings.from_env(pipeline.env)
        registry = registry_from_url(settings.kafka.schema_registry_url)
        return cls(pipeline, settings, registry, Catalog(settings.kafka.topic_prefix, registry))

    @property
    def url(self) -> str:
        return f"{self.pipeline.gateway_url}/console"

    def _produce(self, topic: BoundTopic, key: str, record: dict[str, Any]) -> None:
        producer = Producer({"bootstrap.servers": self.settings.kafka.bootstrap})
        producer.produce(topic.name, topic.codec.encode(record), key.encode("utf-8"))
        assert producer.flush(30) == 0, f"Kafka did not take the record for {topic.name}"

    def add_accounts(self) -> None:
        """Written before the gateway starts, so its account view holds them once it is ready."""
        k = self.settings.kafka
        ensure_topics(AdminClient({"bootstrap.servers": k.bootstrap}), k.topic_prefix, k.partitions,
                      k.replication_factor)
        for p in PEOPLE:
            account = new_account(p.organization, p.username, p.role, p.password)
            self._produce(self.catalog.staff_accounts, account.key, account.record(int(time.time() * 1000), "tests"))

    def patient(self, organization: str, phone: str) -> str:
        """The patient's pseudonym, as every topic is keyed (of the number's canonical form)."""
        return Pseudonymizer(self.settings.pseudonym_key_bytes)(organization, canonical_number(phone))

    def notice(self, organization: str = "demo-clinic", reason: str = "reschedule_requested", *,
               phone: str | None = None, words: str | None = None) -> str:
        """A staff notice as the stream workers publish one, about the patient with this number and with
        their words sealed when given; returns its event id once Kafka has it."""
        record = staff_notice(organization, reason, recipient_id=self.patient(organization, phone) if phone else None)
        if words is not None:
            record = with_words(record, PhiCipher(self.settings.phi_keys), words)
        self._produce(self.catalog.staff_notifications, record["recipient_id"], record)
        return str(record["event_id"])


# -- a person at the keyboard ----------------------------------------------------------------------

def focused(driver: WebDriver) -> WebElement:
    element: WebElement = driver.switch_to.active_element
    return element


def tab_to(driver: WebDriver, element_id: str, *, limit: int = 60) -> WebElement:
    """Presses Tab until `element_id` has the focus, as someone without a mouse would."""
    seen = []
    for _ in range(limit):
        now = focused(driver)
        if now.get_attribute("id") == element_id:
            return now
        seen.append(now.get_attribute("id") or now.tag_name)
        now.send_keys(Keys.TAB)
    raise AssertionError(f"Tab never reached #{element_id}; the focus went through {seen}")


def type_into(driver: WebDriver, element_id: str, text: str) -> None:
    tab_to(driver, element_id).send_keys(text)


def sign_in(driver: WebDriver, clinic: Clinic, person: Person, *, password: str | None = None) -> None:
    """The sign-in form by keyboard alone: Tab to each field, type, Enter."""
    if not driver.current_url.startswith(f"{clinic.url}/signin"):
        driver.get(f"{clinic.url}/signin")
    type_into(driver, "organization", person.organization)
    type_into(driver, "username", person.username)
    type_into(driver, "password", password if password is not None else person.password)
    focused(driver).send_keys(Keys.ENTER)
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def live(driver: WebDriver, timeout: float = 10) -> None:
    """Waits until the page's live-update stream is open (htmx's sseOpen, recorded by stack.browser)."""
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script("return window.__carelaySseOpen === true"))


def text_of(driver: WebDriver, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)
