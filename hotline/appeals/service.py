"""The appeal core as a service: each operation runs its repository function in the
database's thread pool, with the time read from the injected wall clock, and returns a
Deferred with a plain record."""

from __future__ import annotations

from twisted.internet import defer

from hotline.appeals.records import AppealRecord, NewAppeal
from hotline.appeals.repository import AppealRepository
from hotline.clock import WallClock
from hotline.db import Database
from schemas.enums import Satisfaction


class AppealService:
    def __init__(self, db: Database, repository: AppealRepository, clock: WallClock) -> None:
        self.db = db
        self.repository = repository
        self._clock = clock

    def create(self, new: NewAppeal, *, actor: str) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.create, new, actor=actor, now=self._clock.now())

    def assign(self, appeal_id: int, unit_id: int, *, actor: str,
               note: str | None = None) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.assign, appeal_id, unit_id, actor=actor,
                             now=self._clock.now(), note=note)

    def start(self, appeal_id: int, *, actor: str) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.start, appeal_id, actor=actor, now=self._clock.now())

    def resolve(self, appeal_id: int, resolution: str, *,
                actor: str) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.resolve, appeal_id, resolution, actor=actor,
                             now=self._clock.now())

    def close(self, appeal_id: int, *, actor: str,
              note: str | None = None) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.close, appeal_id, actor=actor,
                             now=self._clock.now(), note=note)

    def reopen(self, appeal_id: int, reason: str, *, actor: str) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.reopen, appeal_id, reason, actor=actor,
                             now=self._clock.now())

    def add_note(self, appeal_id: int, text: str, *, actor: str,
                 call_id: str | None = None) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.add_note, appeal_id, text, actor=actor,
                             now=self._clock.now(), call_id=call_id)

    def rate(self, appeal_id: int, satisfaction: Satisfaction, *, actor: str,
             note: str | None = None) -> defer.Deferred[AppealRecord]:
        return self.db.write(self.repository.rate, appeal_id, satisfaction, actor=actor,
                             now=self._clock.now(), note=note)

    def get(self, appeal_id: int) -> defer.Deferred[AppealRecord]:
        return self.db.read(self.repository.get, appeal_id)

    def by_case_number(self, case_number: str) -> defer.Deferred[AppealRecord]:
        return self.db.read(self.repository.by_case_number, case_number)

    def open_for_phone(self, phone: str) -> defer.Deferred[list[AppealRecord]]:
        return self.db.read(self.repository.open_for_phone, phone)
