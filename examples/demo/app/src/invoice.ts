import { LineItem, formatCents, monthly_total_cents } from "./billing";

export function renderInvoice(customer: string, items: LineItem[]): string {
  const total = monthly_total_cents(items);
  const lines = items.map((i) => `${i.sku} x${i.quantity}`);
  // The invoice total must match monthly_total_cents exactly.
  return [`Invoice for ${customer}`, ...lines, `Total: ${formatCents(total)}`].join("\n");
}
