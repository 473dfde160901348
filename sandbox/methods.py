"""The Bot API methods of the double, validated and worded like Telegram's.

Each ``api_<snake_name>`` method receives decoded parameters and returns the ``result`` value
or raises :class:`ApiError`. The validation order follows Telegram where it matters to a bot:
the chat is resolved first (400/403), then the content (400), then flood control (429), so a
message that is rejected never counts against the limits.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sandbox.html import EntityParseError, parse_html, utf16_len
from sandbox.models import (
    ApiError,
    FakeChat,
    FakeUser,
    ForumTopic,
    SentMessage,
    UploadedPart,
    bad_request,
)
from sandbox.world import CONTENT_KEYS, StoredFile, World, scope_key

#: Checked in this order: an animation message also carries a ``document``.
_MEDIA_KINDS = "photo animation document voice video audio video_note sticker".split()  # noqa: SIM905
_URL = re.compile(r"^(https?://[^\s/]+\S*|tg://\S+)$", re.IGNORECASE)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
#: Seconds after sending within which a message may be deleted (48 hours).
DELETE_WINDOW = 48 * 3600
#: What editMessageMedia accepts, both as the message's media and as the new one.
_EDITABLE_MEDIA = ("animation", "audio", "document", "photo", "video")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


class Methods(World):
    """Bot API method implementations on top of :class:`World`'s state."""

    # ------------------------------------------------------------ resolution helpers
    def _resolve(self, ref: Any) -> FakeUser | FakeChat:
        """Map a ``chat_id`` parameter to a user or chat, or fail like Telegram."""
        if ref is None or ref == "":
            raise bad_request("chat_id is empty")
        if isinstance(ref, str) and ref.startswith("@"):
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == ref[1:].lower():
                    return chat
            raise bad_request("chat not found")
        try:
            chat_id = int(ref)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        if chat_id in self.users:
            return self.users[chat_id]
        if chat_id in self.chats:
            return self.chats[chat_id]
        raise bad_request("chat not found")

    def _target(self, params: dict[str, Any], key: str = "chat_id") -> FakeUser | FakeChat:
        """Resolve a chat the bot wants to post into, including 403 situations."""
        target = self._resolve(params.get(key))
        if isinstance(target, FakeUser):
            if target.deactivated:
                raise ApiError(403, "Forbidden: user is deactivated")
            if target.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
        elif target.bot_status in ("left", "kicked"):
            kind = "channel" if target.type == "channel" else target.type
            verb = "was kicked from" if target.bot_status == "kicked" else "is not a member of"
            raise ApiError(403, f"Forbidden: bot {verb} the {kind} chat")
        return target

    def _thread(self, target: FakeUser | FakeChat, params: dict[str, Any]) -> int | None:
        """Validate ``message_thread_id`` against the forum's topics."""
        thread_id = params.get("message_thread_id")
        if not thread_id:
            return None
        if not isinstance(target, FakeChat) or not target.is_forum:
            raise bad_request("message thread not found")
        topic = target.topics.get(int(thread_id))
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        if topic.closed and target.bot_status not in ("administrator", "creator"):
            raise bad_request("TOPIC_CLOSED")
        return int(thread_id)

    def _reply(self, params: dict[str, Any], chat_id: int) -> dict[str, Any] | None:
        """The replied message (``reply_parameters`` or the legacy ``reply_to_message_id``)."""
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id, allow = reply.get("message_id"), reply.get("allow_sending_without_reply")
            chat_id = int(reply.get("chat_id") or chat_id)
        else:
            message_id = params.get("reply_to_message_id")
            allow = params.get("allow_sending_without_reply")
        if not message_id:
            return None
        replied = self.messages.get((chat_id, int(message_id)))
        if replied is None:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        result = copy.deepcopy(replied)
        result.pop("reply_to_message", None)
        return result

    def _format(
        self,
        text: Any,
        parse_mode: Any,
        entities: Any,
        *,
        limit: int,
        too_long: str,
        empty: str | None,
    ) -> tuple[str, list[dict[str, Any]]]:
        """Parse formatting and enforce Telegram's length limits on the resulting plain text."""
        if text is None:
            text = ""
        text = str(text)
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                plain, parsed = parse_html(text)
            except EntityParseError as exc:
                raise bad_request(f"can't parse entities: {exc}") from None
        elif mode in ("markdownv2", "markdown"):
            raise bad_request(
                "can't parse entities: only parse_mode HTML is implemented by the test double"
            )
        elif mode:
            raise bad_request(f"unsupported parse_mode {parse_mode}")
        else:
            plain, parsed = text, list(entities or [])
        if empty is not None and not plain.strip():
            raise bad_request(empty)
        if utf16_len(plain) > limit:
            raise bad_request(too_long)
        return plain, parsed

    def _markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """Validate ``reply_markup`` the way Telegram rejects broken keyboards."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of '
                    "Arrays"
                )
            for button in (b for row in rows for b in row):
                self._check_button(button)
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request(
                    'Field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
                )
            for button in (b for row in rows for b in row):
                text = button if isinstance(button, str) else (button or {}).get("text")
                if not isinstance(text, str) or not text:
                    raise bad_request("can't parse keyboard button: Text must be non-empty")
        elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup

    @staticmethod
    def _check_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        if not isinstance(button.get("text"), str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "text" must be of type String'
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
        elif "url" in button:
            url = button["url"]
            if not isinstance(url, str) or not _URL.match(url):
                raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
        elif not any(
            k in button
            for k in (
                "web_app",
                "login_url",
                "switch_inline_query",
                "copy_text",
                "pay",
                "switch_inline_query_current_chat",
                "switch_inline_query_chosen_chat",
                "callback_game",
            )
        ):
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed "
                "in the inline keyboard"
            )

    def _flood(self, chat_id: int) -> None:
        """Apply flood control to one outgoing message."""
        if not self.flood.allow(chat_id):
            self.flood_violations += 1
            wait = self.flood.retry_after
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    def _file(self, params: dict[str, Any], key: str, kind: str) -> StoredFile:
        """Resolve an upload (multipart part, ``attach://`` reference or existing file_id)."""
        value = params.get(key)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value[len("attach://") :])
        if isinstance(value, UploadedPart):
            mime = value.content_type
            if mime == "application/octet-stream" and kind != "document":
                mime = None
            return self.store_file(kind, value.data, mime_type=mime, file_name=value.filename)
        if isinstance(value, str) and value in self.files:
            stored = self.files[value]
            if (stored.kind == "photo") != (kind == "photo"):
                raise bad_request("type of file mismatch")
            return stored
        if value is None:
            raise bad_request(f"there is no {kind} in the request")
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _deliver(
        self,
        method: str,
        params: dict[str, Any],
        target: FakeUser | FakeChat,
        thread_id: int | None,
        content: dict[str, Any],
        *,
        reply: dict[str, Any] | None = None,
        markup: dict[str, Any] | None = None,
        html: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> SentMessage:
        """Create the bot's message, store it, and record it in ``sent``."""
        chat_id = target.id
        message_id = self.next_message_id(chat_id)
        raw: dict[str, Any] = {"message_id": message_id}
        if isinstance(target, FakeChat) and target.type == "channel":
            raw["sender_chat"] = target.chat_dict()
        else:
            raw["from"] = self.bot_user
        raw.update(chat=target.chat_dict(), date=self.now())
        if thread_id:
            raw.update(message_thread_id=thread_id, is_topic_message=True)
        if reply is not None:
            raw["reply_to_message"] = reply
        raw.update(extra or {})
        raw.update(content)
        if markup and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        self.messages[(chat_id, message_id)] = raw
        sent = SentMessage(
            message_id=message_id,
            chat_id=chat_id,
            method=method,
            raw=raw,
            thread_id=thread_id,
            html=html,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply["message_id"] if reply else None,
            media_group_id=raw.get("media_group_id"),
            params={k: v for k, v in params.items() if not isinstance(v, UploadedPart)},
        )
        self._describe(sent)
        self.sent.append(sent)
        self._sent_index[(chat_id, message_id)] = sent
        for listener in self.sent_listeners:
            listener(sent)
        self.changed()
        return sent

    def _describe(self, sent: SentMessage) -> None:
        """Fill the convenience fields of a SentMessage from its raw content."""
        raw = sent.raw
        sent.text = raw.get("text", raw.get("caption"))
        sent.entities = list(raw.get("entities", raw.get("caption_entities", [])))
        for kind in _MEDIA_KINDS:
            if kind in raw:
                media = raw[kind][-1] if kind == "photo" else raw[kind]
                stored = self.files.get(media["file_id"])
                sent.media_kind, sent.file_id = kind, media["file_id"]
                if stored is not None:
                    sent.filename, sent.mime_type = stored.file_name, stored.mime_type
                    sent.data = stored.data
                break
        location = raw.get("location")
        if location:
            sent.latitude, sent.longitude = location["latitude"], location["longitude"]
            sent.media_kind = sent.media_kind or ("venue" if "venue" in raw else "location")
        for kind in ("contact", "dice", "poll"):
            if kind in raw:
                sent.media_kind = kind

    # ------------------------------------------------------------ bot & commands
    def api_get_me(self, params: dict[str, Any]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def api_set_my_commands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not _COMMAND_NAME.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = scope_key(params.get("scope"), params.get("language_code"))
        self.commands[key] = commands
        return True

    def api_get_my_commands(self, params: dict[str, Any]) -> Any:
        return self.commands.get(scope_key(params.get("scope"), params.get("language_code")), [])

    def api_delete_my_commands(self, params: dict[str, Any]) -> Any:
        self.commands.pop(scope_key(params.get("scope"), params.get("language_code")), None)
        return True

    def api_set_chat_menu_button(self, params: dict[str, Any]) -> Any:
        self.menu_buttons[params.get("chat_id")] = params.get("menu_button") or {"type": "default"}
        return True

    def api_get_chat_menu_button(self, params: dict[str, Any]) -> Any:
        return self.menu_buttons.get(params.get("chat_id"), {"type": "commands"})

    def _set_text(self, params: dict[str, Any], kind: str, field: str, limit: int) -> Any:
        value = params.get(field) or ""
        if len(value) > limit:
            raise bad_request(f"BOT_{kind.upper()}_INVALID")
        self.descriptions[(kind, params.get("language_code") or "")] = value
        return True

    def api_set_my_description(self, params: dict[str, Any]) -> Any:
        return self._set_text(params, "description", "description", 512)

    def api_set_my_short_description(self, params: dict[str, Any]) -> Any:
        return self._set_text(params, "short_description", "short_description", 120)

    def api_get_my_description(self, params: dict[str, Any]) -> Any:
        key = ("description", params.get("language_code") or "")
        return {"description": self.descriptions.get(key, "")}

    def api_get_my_short_description(self, params: dict[str, Any]) -> Any:
        key = ("short_description", params.get("language_code") or "")
        return {"short_description": self.descriptions.get(key, "")}

    # ------------------------------------------------------------ sending
    def api_send_message(self, params: dict[str, Any]) -> Any:
        target = self._target(params)
        thread_id = self._thread(target, params)
        plain, entities = self._format(
            params.get("text"),
            params.get("parse_mode"),
            params.get("entities"),
            limit=4096,
            too_long="message is too long",
            empty="message text is empty",
        )
        markup = self._markup(params)
        reply = self._reply(params, target.id)
        self._flood(target.id)
        content: dict[str, Any] = {"text": plain}
        if entities:
            content["entities"] = entities
        sent = self._deliver(
            "sendMessage",
            params,
            target,
            thread_id,
            content,
            reply=reply,
            markup=markup,
            html=params.get("text"),
        )
        return sent.raw

    def _caption(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("caption") is None:
            return {}
        plain, entities = self._format(
            params.get("caption"),
            params.get("parse_mode"),
            params.get("caption_entities"),
            limit=1024,
            too_long="message caption is too long",
            empty=None,
        )
        content: dict[str, Any] = {"caption": plain} if plain else {}
        if entities and plain:
            content["caption_entities"] = entities
        return content

    def _send_media(self, params: dict[str, Any], kind: str, method: str) -> Any:
        target = self._target(params)
        thread_id = self._thread(target, params)
        caption = self._caption(params) if kind not in ("video_note", "sticker") else {}
        markup = self._markup(params)
        reply = self._reply(params, target.id)
        stored = self._file(params, kind, kind)
        self._flood(target.id)
        content: dict[str, Any] = {kind: self.media_object(stored, kind, params)}
        if kind == "animation":
            content["document"] = self.media_object(stored, "document")
        content.update(caption)
        sent = self._deliver(
            method,
            params,
            target,
            thread_id,
            content,
            reply=reply,
            markup=markup,
            html=params.get("caption"),
        )
        return sent.raw

    def api_send_photo(self, params: dict[str, Any]) -> Any:
        return self._send_media(params, "photo", "sendPhoto")

    def api_send_document(self, params: dict[str, Any]) -> Any:
        return self._send_media(params, "document", "sendDocument")

    def api_send_voice(self, params: dict[str, Any]) -> Any:
        return self._send_media(params, "voice", "sendVoice")

    def api_send_video(self, params: dict[str, Any]) -> Any:
        return self._send_media(params, "video", "sendVideo")

    def api_send_audio(self, params: dict[str, Any]) -> Any:
        return self._send_media(params, "audio", "sendAudio")

    def api_send_animation(self, params: dict[str, Any]) -> Any:
        return self._send_media(params, "animation", "sendAnimation")

    def api_send_video_note(self, params: dict[str, Any]) -> Any:
        return self._send_media(params, "video_note", "sendVideoNote")

    def api_send_sticker(self, params: dict[str, Any]) -> Any:
        return self._send_media(params, "sticker", "sendSticker")

    def _send_simple(self, params: dict[str, Any], method: str, content: dict[str, Any]) -> Any:
        target = self._target(params)
        thread_id = self._thread(target, params)
        markup = self._markup(params)
        reply = self._reply(params, target.id)
        self._flood(target.id)
        sent = self._deliver(
            method, params, target, thread_id, content, reply=reply, markup=markup
        )
        return sent.raw

    def api_send_location(self, params: dict[str, Any]) -> Any:
        location = self._location(params)
        return self._send_simple(params, "sendLocation", {"location": location})

    @staticmethod
    def _location(params: dict[str, Any]) -> dict[str, float]:
        try:
            latitude, longitude = float(params["latitude"]), float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise bad_request("wrong latitude or longitude") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise bad_request("wrong latitude or longitude")
        return {"latitude": latitude, "longitude": longitude}

    def api_send_venue(self, params: dict[str, Any]) -> Any:
        location = self._location(params)
        venue = {
            "location": location,
            "title": params.get("title") or "",
            "address": params.get("address") or "",
        }
        return self._send_simple(params, "sendVenue", {"venue": venue, "location": location})

    def api_send_contact(self, params: dict[str, Any]) -> Any:
        contact = {
            "phone_number": str(params.get("phone_number") or ""),
            "first_name": params.get("first_name") or "",
        }
        return self._send_simple(params, "sendContact", {"contact": contact})

    def api_send_dice(self, params: dict[str, Any]) -> Any:
        dice = {"emoji": params.get("emoji") or "🎲", "value": 1 + len(self.sent) % 6}
        return self._send_simple(params, "sendDice", {"dice": dice})

    def api_send_media_group(self, params: dict[str, Any]) -> Any:
        target = self._target(params)
        thread_id = self._thread(target, params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the group")
        reply = self._reply(params, target.id)
        items = []
        for item in media:
            kind = item.get("type")
            if kind not in ("photo", "video", "document", "audio"):
                raise bad_request("wrong type of the media in the group")
            caption = self._caption(item)
            stored = self._file({**params, "media": item.get("media")}, "media", kind)
            items.append((kind, stored, caption, item))
        self._flood(target.id)
        group_id = f"1{next(self._file_seq):017d}"
        results = []
        for kind, stored, caption, item in items:
            content = {kind: self.media_object(stored, kind, item), **caption}
            sent = self._deliver(
                "sendMediaGroup",
                params,
                target,
                thread_id,
                content,
                reply=reply,
                html=item.get("caption"),
                extra={"media_group_id": group_id},
            )
            results.append(sent.raw)
        return results

    def _source(self, params: dict[str, Any], action: str) -> dict[str, Any]:
        source_chat = self._resolve(params.get("from_chat_id"))
        source = self.messages.get((source_chat.id, int(params.get("message_id") or 0)))
        if source is None:
            raise bad_request(f"message to {action} not found")
        return source

    def api_copy_message(self, params: dict[str, Any]) -> Any:
        source = self._source(params, "copy")
        target = self._target(params)
        thread_id = self._thread(target, params)
        content = {k: copy.deepcopy(source[k]) for k in CONTENT_KEYS if k in source}
        if not content:
            raise bad_request("message can't be copied")
        if "caption" in params and "text" not in content:
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(self._caption(params))
        markup = self._markup(params)
        reply = self._reply(params, target.id)
        self._flood(target.id)
        sent = self._deliver(
            "copyMessage",
            params,
            target,
            thread_id,
            content,
            reply=reply,
            markup=markup,
            html=params.get("caption"),
        )
        return {"message_id": sent.message_id}

    def api_forward_message(self, params: dict[str, Any]) -> Any:
        source = self._source(params, "forward")
        target = self._target(params)
        thread_id = self._thread(target, params)
        content = {k: copy.deepcopy(source[k]) for k in CONTENT_KEYS if k in source}
        if not content:
            raise bad_request("message can't be forwarded")
        if "from" in source:
            origin = {"type": "user", "sender_user": source["from"], "date": source["date"]}
        else:
            origin = {
                "type": "channel",
                "chat": source["chat"],
                "date": source["date"],
                "message_id": source["message_id"],
            }
        self._flood(target.id)
        sent = self._deliver(
            "forwardMessage", params, target, thread_id, content, extra={"forward_origin": origin}
        )
        return sent.raw

    def api_send_chat_action(self, params: dict[str, Any]) -> Any:
        target = self._target(params)
        thread_id = self._thread(target, params)
        self.chat_actions.append(
            {"chat_id": target.id, "action": params.get("action"), "thread_id": thread_id}
        )
        return True

    # ------------------------------------------------------------ editing & deleting
    def _editable(self, params: dict[str, Any]) -> SentMessage:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._resolve(params.get("chat_id"))
        key = (chat.id, int(params.get("message_id") or 0))
        sent = self._sent_index.get(key)
        if sent is None or sent.deleted:
            if key in self.messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return sent

    def _apply_edit(
        self,
        sent: SentMessage,
        method: str,
        content: dict[str, Any],
        markup: dict[str, Any] | None,
        html: str | None,
        params: dict[str, Any],
    ) -> Any:
        raw = sent.raw
        inline = markup if markup and "inline_keyboard" in markup else None
        unchanged = all((raw.get(k) or None) == (v or None) for k, v in content.items())
        if unchanged and raw.get("reply_markup") == inline:
            raise bad_request(_NOT_MODIFIED)
        sent.history.append(
            {
                "method": sent.method if not sent.history else method,
                "text": sent.text,
                "html": sent.html,
                "entities": sent.entities,
                "reply_markup": sent.reply_markup,
            }
        )
        for key, value in content.items():
            if value:
                raw[key] = value
            else:
                raw.pop(key, None)
        if inline is None:
            raw.pop("reply_markup", None)
        else:
            raw["reply_markup"] = inline
        raw["edit_date"] = self.now()
        sent.reply_markup = inline
        if method != "editMessageReplyMarkup":
            sent.html, sent.parse_mode = html, params.get("parse_mode")
        self._describe(sent)
        self.changed()
        return raw

    def api_edit_message_text(self, params: dict[str, Any]) -> Any:
        sent = self._editable(params)
        if "text" not in sent.raw:
            raise bad_request("there is no text in the message to edit")
        plain, entities = self._format(
            params.get("text"),
            params.get("parse_mode"),
            params.get("entities"),
            limit=4096,
            too_long="MESSAGE_TOO_LONG",
            empty="message text is empty",
        )
        markup = self._markup(params)
        content = {"text": plain, "entities": entities}
        return self._apply_edit(
            sent, "editMessageText", content, markup, params.get("text"), params
        )

    def api_edit_message_caption(self, params: dict[str, Any]) -> Any:
        sent = self._editable(params)
        if "text" in sent.raw:
            raise bad_request("there is no caption in the message to edit")
        caption = self._caption(params)
        markup = self._markup(params)
        content = {
            "caption": caption.get("caption"),
            "caption_entities": caption.get("caption_entities"),
        }
        return self._apply_edit(
            sent, "editMessageCaption", content, markup, params.get("caption"), params
        )

    def api_edit_message_media(self, params: dict[str, Any]) -> Any:
        """Replace the file of a photo, video, document, audio or animation message. Voice
        messages, video notes, stickers, locations and text cannot be turned into a file."""
        sent = self._editable(params)
        if not any(kind in sent.raw for kind in _EDITABLE_MEDIA):
            raise bad_request("there is no media in the message to edit")
        media = params.get("media")
        if not isinstance(media, dict):
            raise bad_request("can't parse InputMedia")
        kind = media.get("type")
        if kind not in _EDITABLE_MEDIA:
            raise bad_request("wrong type of the media")
        caption = self._caption(media)
        stored = self._file({**params, "media": media.get("media")}, "media", kind)
        markup = self._markup(params)
        content: dict[str, Any] = {other: None for other in _EDITABLE_MEDIA if other != kind}
        content[kind] = self.media_object(stored, kind, media)
        content["caption"] = caption.get("caption")
        content["caption_entities"] = caption.get("caption_entities")
        return self._apply_edit(
            sent, "editMessageMedia", content, markup, media.get("caption"), params
        )

    def api_edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        sent = self._editable(params)
        markup = self._markup(params)
        return self._apply_edit(sent, "editMessageReplyMarkup", {}, markup, sent.html, params)

    def api_delete_message(self, params: dict[str, Any]) -> Any:
        chat = self._resolve(params.get("chat_id"))
        key = (chat.id, int(params.get("message_id") or 0))
        message = self.messages.get(key)
        if message is None:
            raise bad_request("message to delete not found")
        from_bot = message.get("from", {}).get("id") == self.bot_id or "sender_chat" in message
        if (
            isinstance(chat, FakeChat)
            and not from_bot
            and chat.bot_status not in ("administrator", "creator")
        ):
            raise bad_request("message can't be deleted")
        # Telegram: "A message can only be deleted if it was sent less than 48 hours ago", and
        # the service message that created a forum topic never (delete the topic instead).
        if self.now() - int(message["date"]) >= DELETE_WINDOW or "forum_topic_created" in message:
            raise bad_request("message can't be deleted")
        self.forget_message(key)
        return True

    def api_delete_messages(self, params: dict[str, Any]) -> Any:
        for message_id in params.get("message_ids") or []:
            try:
                self.api_delete_message({**params, "message_id": message_id})
            except ApiError as exc:
                if exc.code != 400 or "not found" not in exc.description:
                    raise
        return True

    def api_pin_chat_message(self, params: dict[str, Any]) -> Any:
        chat = self._target(params)
        if (chat.id, int(params.get("message_id") or 0)) not in self.messages:
            raise bad_request("message to pin not found")
        return True

    def api_unpin_chat_message(self, params: dict[str, Any]) -> Any:
        self._target(params)
        return True

    def api_answer_callback_query(self, params: dict[str, Any]) -> Any:
        query = self._open_callbacks.pop(str(params.get("callback_query_id")), None)
        if query is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(params.get("text") or "") > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self.answered_callbacks.append(
            {
                "callback_query_id": query["id"],
                "text": params.get("text"),
                "show_alert": bool(params.get("show_alert")),
                "url": params.get("url"),
                "data": query.get("data"),
                "user_id": query["from"]["id"],
            }
        )
        self.changed()
        return True

    # ------------------------------------------------------------ files & chats
    def api_get_file(self, params: dict[str, Any]) -> Any:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def api_get_chat(self, params: dict[str, Any]) -> Any:
        chat = self._resolve(params.get("chat_id"))
        info = chat.chat_dict()
        info.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return info

    def _group(self, params: dict[str, Any]) -> FakeChat:
        chat = self._resolve(params.get("chat_id"))
        if not isinstance(chat, FakeChat):
            raise bad_request("there are no administrators in the private chat")
        return chat

    def api_get_chat_member(self, params: dict[str, Any]) -> Any:
        chat = self._resolve(params.get("chat_id"))
        user_id = int(params.get("user_id") or 0)
        if user_id not in self.users and user_id != self.bot_id:
            raise bad_request("user not found")
        if isinstance(chat, FakeUser):
            user = self.bot_user if user_id == self.bot_id else self.users[user_id].to_dict()
            return {
                "status": "member" if user_id in (chat.id, self.bot_id) else "left",
                "user": user,
            }
        return self.member_dict(chat, user_id)

    def api_get_chat_administrators(self, params: dict[str, Any]) -> Any:
        chat = self._group(params)
        ids = [uid for uid, s in chat.members.items() if s in ("creator", "administrator")]
        if chat.bot_status == "administrator":
            ids.append(self.bot_id)
        return [self.member_dict(chat, uid) for uid in ids]

    def api_get_chat_member_count(self, params: dict[str, Any]) -> Any:
        chat = self._resolve(params.get("chat_id"))
        if isinstance(chat, FakeUser):
            return 2
        count = sum(s in ("creator", "administrator", "member") for s in chat.members.values())
        return count + (chat.bot_status in ("administrator", "member"))

    def api_leave_chat(self, params: dict[str, Any]) -> Any:
        chat = self._resolve(params.get("chat_id"))
        if not isinstance(chat, FakeChat):
            raise bad_request("chat member status can't be changed in private chats")
        chat.bot_status = "left"
        chat.bot_can_manage_topics = False
        self.left_chats.append(chat.id)
        return True

    # ------------------------------------------------------------ forum topics
    def _forum(self, params: dict[str, Any], *, create: bool = False) -> FakeChat:
        chat = self._target(params)
        if not isinstance(chat, FakeChat) or not chat.is_forum:
            raise bad_request("the chat is not a forum")
        if not chat.bot_can_manage_topics or chat.bot_status != "administrator":
            raise bad_request(
                "not enough rights to create a topic" if create else "CHAT_ADMIN_REQUIRED"
            )
        return chat

    def _topic(self, params: dict[str, Any]) -> tuple[FakeChat, Any]:
        chat = self._forum(params)
        topic = chat.topics.get(int(params.get("message_thread_id") or 0))
        if topic is None or topic.deleted:
            raise bad_request("message thread not found")
        return chat, topic

    def api_create_forum_topic(self, params: dict[str, Any]) -> Any:
        chat = self._forum(params, create=True)
        name = str(params.get("name") or "")
        if not name:
            raise bad_request("TOPIC_TITLE_EMPTY")
        if len(name) > 128:
            raise bad_request("TOPIC_TITLE_INVALID")
        thread_id = self.next_message_id(chat.id)
        topic = ForumTopic(
            thread_id,
            name,
            int(params.get("icon_color") or 7322096),
            params.get("icon_custom_emoji_id"),
        )
        chat.topics[thread_id] = topic
        self.messages[(chat.id, thread_id)] = {
            "message_id": thread_id,
            "from": self.bot_user,
            "chat": chat.chat_dict(),
            "date": self.now(),
            "message_thread_id": thread_id,
            "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": topic.icon_color},
        }
        self.changed()
        return topic.to_dict()

    def api_edit_forum_topic(self, params: dict[str, Any]) -> Any:
        _, topic = self._topic(params)
        name = params.get("name")
        emoji = params.get("icon_custom_emoji_id")
        if name is not None and not 1 <= len(name) <= 128:
            raise bad_request("TOPIC_TITLE_INVALID")
        if (name is None or name == topic.name) and (
            emoji is None or emoji == (topic.icon_custom_emoji_id or "")
        ):
            raise bad_request("TOPIC_NOT_MODIFIED")
        if name is not None:
            topic.name = name
        if emoji is not None:
            topic.icon_custom_emoji_id = emoji or None
        self.changed()
        return True

    def _set_closed(self, params: dict[str, Any], closed: bool) -> Any:
        _, topic = self._topic(params)
        if topic.closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.closed = closed
        self.changed()
        return True

    def api_close_forum_topic(self, params: dict[str, Any]) -> Any:
        return self._set_closed(params, True)

    def api_reopen_forum_topic(self, params: dict[str, Any]) -> Any:
        return self._set_closed(params, False)

    def api_delete_forum_topic(self, params: dict[str, Any]) -> Any:
        """Deletes the topic with all its messages, however old they are."""
        chat, topic = self._topic(params)
        self.remove_topic(chat, topic)
        return True
