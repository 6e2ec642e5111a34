import { mount } from 'svelte';
import Admin from './Admin.svelte';
import './admin.css';

mount(Admin, { target: document.getElementById('app')! });
