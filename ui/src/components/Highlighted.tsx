// Text with highlighted parts, rendered as text nodes and <mark> elements only (never HTML).
import { findSegments, highlightSegments } from '../lib/highlight';

export function Highlighted({ text }: { text: string }) {
  return (
    <>
      {highlightSegments(text).map(([hit, s], i) => (hit ? <mark key={i}>{s}</mark> : <span key={i}>{s}</span>))}
    </>
  );
}

export function Found({ text, needle }: { text: string; needle: string }) {
  if (!needle) return <>{text}</>;
  return (
    <>
      {findSegments(text, needle).map(([hit, s], i) => (hit ? <mark key={i}>{s}</mark> : <span key={i}>{s}</span>))}
    </>
  );
}
