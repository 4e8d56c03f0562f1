// Finds the studio API and mounts the window; if even that fails, says so in the window rather than leaving it blank.

import { mount } from 'svelte';
import App from './App.svelte';
import { getApi } from './lib/api/index.js';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks its #app element');

try {
  mount(App, { target, props: { api: getApi() } });
} catch (error) {
  const message = document.createElement('p');
  message.className = 'fatal';
  message.setAttribute('role', 'alert');
  message.setAttribute('data-testid', 'error');
  message.textContent = `The studio could not start: ${error instanceof Error ? error.message : String(error)}`;
  target.replaceChildren(message);
}
