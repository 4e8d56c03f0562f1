// Draws the app icon (a painted swirl on a canvas-coloured tile) and writes build/icon.png (512 px) and
// build/icons/{512x512,256x256}.png; electron-builder derives .ico and .icns from them. Run after changing the art.
import { mkdir } from 'node:fs/promises';
import sharp from 'sharp';

const svg = (size) => `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 512 512">
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#1d3b8f"/><stop offset="0.55" stop-color="#2f6fc9"/><stop offset="1" stop-color="#f2b134"/>
    </linearGradient>
    <radialGradient id="moon" cx="0.5" cy="0.5" r="0.5">
      <stop offset="0" stop-color="#fff6c2"/><stop offset="1" stop-color="#f2c94c"/>
    </radialGradient>
  </defs>
  <rect x="24" y="24" width="464" height="464" rx="96" fill="url(#sky)"/>
  <g fill="none" stroke-linecap="round">
    <path d="M96 300 C 140 200, 250 190, 280 250 S 400 330, 420 220" stroke="#e8f1ff" stroke-width="26" opacity="0.9"/>
    <path d="M110 360 C 170 300, 260 310, 300 340 S 380 380, 410 330" stroke="#0f2357" stroke-width="20" opacity="0.85"/>
    <path d="M200 250 a 44 44 0 1 1 60 20" stroke="#ffd76a" stroke-width="16"/>
  </g>
  <circle cx="372" cy="140" r="48" fill="url(#moon)"/>
  <path d="M140 430 L 190 250 L 240 430 Z" fill="#10203f"/>
</svg>`;

await mkdir('build/icons', { recursive: true });
const render = (size) => sharp(Buffer.from(svg(size))).resize(size, size).png({ compressionLevel: 9 });
await render(512).toFile('build/icon.png');
await render(512).toFile('build/icons/512x512.png');
await render(256).toFile('build/icons/256x256.png');
console.log('icons: build/icon.png, build/icons/512x512.png, build/icons/256x256.png');
