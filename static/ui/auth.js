// Log in and sign up forms.

import { api, setToken } from "../api.js";
import { $ } from "./dom.js";

export function initAuth({ onLoggedIn }) {
  const login = $("#login-form");
  const register = $("#register-form");

  for (const button of document.querySelectorAll("[data-switch]")) {
    button.addEventListener("click", () => {
      const toRegister = button.dataset.switch === "register";
      register.hidden = !toRegister;
      login.hidden = toRegister;
      hideNotice();
      (toRegister ? register : login).querySelector("input").focus();
    });
  }

  login.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(login);
    submit(login, async () => {
      const { access_token: token } = await api.login(form.get("email"), form.get("password"));
      setToken(token);
      await onLoggedIn();
    });
  });

  register.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(register);
    const email = form.get("email");
    const password = form.get("password");
    submit(register, async () => {
      await api.register(form.get("name").trim(), email, password);
      const { access_token: token } = await api.login(email, password);
      setToken(token);
      await onLoggedIn();
    });
  });
}

async function submit(form, action) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  hideNotice();
  try {
    await action();
    form.reset();
  } catch (error) {
    showNotice(error.status === 401 ? "Wrong email or password." : error.message, "error");
  } finally {
    button.disabled = false;
  }
}

function showNotice(text, kind = "info") {
  const notice = $("#auth-notice");
  notice.textContent = text;
  notice.className = `notice ${kind}`;
  notice.hidden = false;
}

function hideNotice() {
  $("#auth-notice").hidden = true;
}

/** Show the login form, optionally with a message (e.g. "your session has expired"). */
export function showAuth(message) {
  $("#app-view").hidden = true;
  $("#auth-view").hidden = false;
  $("#register-form").hidden = true;
  $("#login-form").hidden = false;
  if (message) showNotice(message, "info");
  else hideNotice();
  $("#login-form input").focus();
}
