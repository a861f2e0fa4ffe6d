import { render } from 'preact';
import { App } from './components/App.tsx';
import { WorkspaceModel } from './model/WorkspaceModel.ts';
import './styles.css';

const model = new WorkspaceModel({
  server: window.location.origin,
  pageVisible: () => document.visibilityState === 'visible',
});
const root = document.getElementById('app');
if (root) render(<App model={model} />, root);
void model.resume();
