import { mount } from 'svelte';
import Admin from './Admin.svelte';

mount(Admin, { target: document.getElementById('app')! });
